import { existsSync } from 'node:fs';
import { EXIT_USAGE } from '../main.ts';
import { createRegistry, PluginError } from '../../bot/registry.ts';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../../config/load.ts';
import { PLUGINS } from '../../../plugins/index.ts';

export const summary = 'config check [FILE]: validate the configuration file and say what would start';

const USAGE = `usage: minigpt-bot config check [FILE]   (default: ./${DEFAULT_CONFIG_FILE} if present)`;

/** Exit code for a configuration that would not start. */
const EXIT_INVALID = 1;

export async function run(argv: string[]): Promise<number> {
  const [action, file, ...extra] = argv;
  if (action !== 'check' || extra.length > 0) {
    console.error(USAGE);
    return EXIT_USAGE;
  }
  try {
    const { config, file: read } = loadConfig({ path: file });
    const { disabled, ...sections } = config.plugins;
    const registry = createRegistry(PLUGINS, sections, disabled);
    const adapters = [
      config.discord.token ? 'discord' : undefined,
      config.slack.botToken ? 'slack' : undefined,
    ].filter(Boolean);
    console.log(`ok: ${read ?? 'no config file, defaults apply'}`);
    console.log(`model: ${config.model.dir} on ${config.model.device}${existsSync(config.model.dir) ? '' : ' (folder not found)'}`);
    console.log(`adapters: ${adapters.length > 0 ? adapters.join(', ') : 'none configured: the console starts'}`);
    console.log(`commands: ${registry.commands().map((c) => c.name).join(', ')}`);
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof PluginError)) throw error;
    console.error(error.message);
    return EXIT_INVALID;
  }
}
