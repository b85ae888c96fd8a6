import { REST, Routes } from 'discord.js';
import { commandsPayload, registerCommands } from '../../../adapters/discord/commands.ts';
import { createRegistry } from '../../bot/registry.ts';
import { PLUGINS } from '../../../plugins/index.ts';
import { EXIT_USAGE } from '../main.ts';

export const summary = 'Discord slash commands: `commands --json` prints the payload, `register [--guild ID]` registers it';

const USAGE = 'usage: minigpt-bot discord commands [--json] | discord register [--guild ID]';

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
    return 1;
  }
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'commands' && rest.every((a) => a === '--json')) return printCommands(rest.includes('--json'));
  if (action === 'register') {
    const at = rest.indexOf('--guild');
    const guild = at >= 0 ? rest[at + 1] : undefined;
    const valid = rest.length === 0 || (at === 0 && rest.length === 2 && guild !== undefined && /^\d{17,20}$/.test(guild));
    if (valid) return register(guild);
  }
  console.error(USAGE);
  return EXIT_USAGE;
}
