import { existsSync } from 'node:fs';
import { EXIT_FAILED, runActions, runCommandLine } from '../command-line.ts';
import { createRegistry, PluginError } from '../../../src/bot/registry.ts';
import { adapterProblems } from '../../../adapters/config-check.ts';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig } from '../../../src/config/load.ts';
import { PLUGINS } from '../../../plugins/index.ts';

export const summary = 'config check [FILE]: validate the configuration file and say what would start';

const CHECK = {
  name: 'config check',
  usage: 'minigpt-bot config check [FILE]',
  help: `FILE defaults to ./${DEFAULT_CONFIG_FILE} when it exists. Exit 0 when the configuration would start, 1 when not.`,
  options: {},
  positionals: { name: 'FILE', min: 0, max: 1 },
};

export function run(argv: string[]): Promise<number> {
  return runActions('config', { check: { usage: CHECK.usage, run: (rest) => runCommandLine(CHECK, rest, ({ positionals }) => check(positionals[0])) } }, argv);
}

async function check(file: string | undefined): Promise<number> {
  try {
    const { config, file: read } = loadConfig({ path: file });
    const { disabled, ...sections } = config.plugins;
    const registry = createRegistry(PLUGINS, sections, disabled);
    const problems = adapterProblems(config);
    if (problems.length > 0) throw new ConfigError(problems.join('\n'));
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
    return EXIT_FAILED;
  }
}
