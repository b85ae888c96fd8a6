import { REST, Routes } from 'discord.js';
import { commandsPayload, registerCommands } from '../../../adapters/discord/commands.ts';
import { createRegistry } from '../../../src/bot/registry.ts';
import { PLUGINS } from '../../../plugins/index.ts';
import { EXIT_FAILED, EXIT_USAGE, runActions, runCommandLine, UsageError } from '../command-line.ts';

export const summary = 'Discord slash commands: `commands --json` prints the payload, `register [--guild ID]` registers it';

const COMMANDS = {
  name: 'discord commands',
  usage: 'minigpt-bot discord commands [--json]',
  help: 'Lists the slash commands the bot registers; --json prints the payload sent to Discord.',
  options: { json: { type: 'boolean' } },
} as const;
const REGISTER = {
  name: 'discord register',
  usage: 'minigpt-bot discord register [--guild ID]',
  help: 'Registers the slash commands with the token in DISCORD_TOKEN: globally, or in one guild (server) at once.',
  options: { guild: { type: 'string' } },
} as const;

function payload() {
  return commandsPayload(createRegistry(PLUGINS).commands());
}

function printCommands(json: boolean): number {
  const commands = payload();
  if (json) {
    console.log(JSON.stringify(commands, null, 2));
    return 0;
  }
  for (const command of commands) {
    if (!('description' in command)) {
      const name = `"${command.name}"`.padEnd(36);
      console.log(`${name}message menu (Apps): asks about the image of that message`);
      continue;
    }
    const options = (command.options ?? []).map((o) => (o.required ? `<${o.name}>` : `[${o.name}]`)).join(' ');
    console.log(`/${command.name} ${options}`.trimEnd().padEnd(36) + command.description);
  }
  return 0;
}

/** Registers with the token in DISCORD_TOKEN (never an argument: it would land in shell history). */
async function register(guild: string | undefined): Promise<number> {
  const token = process.env.DISCORD_TOKEN;
  if (!token) {
    console.error('minigpt-bot discord register: set DISCORD_TOKEN to the bot token');
    return EXIT_USAGE;
  }
  const apiUrl = process.env.DISCORD_API_URL;
  const rest = new REST(apiUrl ? { api: apiUrl } : {}).setToken(token);
  try {
    const application = (await rest.get(Routes.currentApplication())) as { id: string };
    const result = await registerCommands(rest, application.id, payload(), guild);
    const where = guild ? `guild ${guild}` : 'globally';
    console.log(
      result.changed
        ? `Registered ${payload().length} commands ${where} (${result.differences.join(', ')}).`
        : `The commands registered ${where} are already up to date; nothing sent.`,
    );
    return 0;
  } catch (error) {
    console.error(`minigpt-bot discord register: Discord refused: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
}

export function run(argv: string[]): Promise<number> {
  return runActions('discord', {
    commands: { usage: COMMANDS.usage, run: (rest) => runCommandLine(COMMANDS, rest, async ({ values }) => printCommands(values.json === true)) },
    register: {
      usage: REGISTER.usage,
      run: (rest) => runCommandLine(REGISTER, rest, async ({ values }) => {
        if (values.guild !== undefined && !/^\d{17,20}$/.test(values.guild)) throw new UsageError(`--guild needs a server id (17–20 digits), got '${values.guild}'`);
        return register(values.guild);
      }),
    },
  }, argv);
}
