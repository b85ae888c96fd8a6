import type { AnyPlugin } from './plugin.ts';
import type { CommandSpec, PluginOption } from './types.ts';

/** Discord's rules for command and option names and descriptions; keeping to them keeps every platform happy. */
const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
const MAX_DESCRIPTION = 100;

const IMAGE_OPTION: PluginOption = {
  name: 'image',
  type: 'image',
  description: 'The image to ask about (optional once the conversation has one)',
};

export interface PluginRegistry {
  /** The commands every adapter registers, in the order the plugins were listed. */
  commands(): readonly CommandSpec[];
  get(name: string): AnyPlugin | undefined;
  /** The plugin's validated config section (defaults filled in). */
  configOf(name: string): unknown;
}

export class PluginError extends Error {}

function checkPlugin(plugin: AnyPlugin): void {
  const where = `plugin '${plugin.name}'`;
  if (!NAME_PATTERN.test(plugin.name)) throw new PluginError(`${where}: name must match ${NAME_PATTERN}`);
  if (!plugin.description || plugin.description.length > MAX_DESCRIPTION)
    throw new PluginError(`${where}: description must be 1–${MAX_DESCRIPTION} characters`);
  const names = new Set<string>(['image']);
  for (const option of plugin.options) {
    if (!NAME_PATTERN.test(option.name) || names.has(option.name))
      throw new PluginError(`${where}: option '${option.name}' is not a valid, unique option name`);
    if (!option.description || option.description.length > MAX_DESCRIPTION)
      throw new PluginError(`${where}: option '${option.name}' needs a description of 1–${MAX_DESCRIPTION} characters`);
    names.add(option.name);
  }
}

/** Required options first (Discord rejects a required option after an optional one), then the image. */
function specOf(plugin: AnyPlugin): CommandSpec {
  const required = plugin.options.filter((o) => o.required);
  const optional = plugin.options.filter((o) => !o.required);
  const image = plugin.usesImage ? [IMAGE_OPTION] : [];
  return {
    name: plugin.name,
    description: plugin.description,
    options: [...required, ...image, ...optional],
    usesImage: plugin.usesImage,
  };
}

/**
 * Builds the command list from the plugins, checking names, descriptions and each plugin's config section.
 * Mistakes in a plugin file or the config fail at start, naming the plugin and key.
 */
export function createRegistry(
  plugins: readonly AnyPlugin[],
  sections: Record<string, unknown> = {},
  disabled: readonly string[] = [],
): PluginRegistry {
  const byName = new Map<string, AnyPlugin>();
  const configs = new Map<string, unknown>();
  for (const plugin of plugins) {
    checkPlugin(plugin);
    if (byName.has(plugin.name)) throw new PluginError(`plugin '${plugin.name}' is listed twice`);
    if (disabled.includes(plugin.name)) continue;
    byName.set(plugin.name, plugin);
    if (plugin.config) {
      const parsed = plugin.config.safeParse(sections[plugin.name] ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const key = ['plugins', plugin.name, ...(issue?.path ?? [])].join('.');
        throw new PluginError(`${key}: ${issue?.message ?? 'invalid'}`);
      }
      configs.set(plugin.name, parsed.data);
    }
  }
  const known = (name: string): boolean => plugins.some((p) => p.name === name);
  for (const name of Object.keys(sections)) {
    if (!known(name)) throw new PluginError(`plugins.${name}: there is no plugin '${name}'`);
  }
  for (const name of disabled) {
    if (!known(name)) throw new PluginError(`plugins.disabled: there is no plugin '${name}'`);
  }
  const specs = [...byName.values()].map(specOf);
  return {
    commands: () => specs,
    get: (name) => byName.get(name),
    configOf: (name) => configs.get(name),
  };
}
