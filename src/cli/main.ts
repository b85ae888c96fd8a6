import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** A subcommand lives in src/cli/commands/<name>.ts and exports `run(argv): Promise<number>` and `summary`. */
export interface CliCommand {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** Exit code for bad arguments or unreadable input, as documented in the README. */
export const EXIT_USAGE = 2;

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function usage(): Promise<string> {
  const lines = ['usage: minigpt-bot <command> [options]', '', 'commands:'];
  for (const name of commandNames()) {
    const mod = (await import(join(commandsDir, `${name}.ts`))) as CliCommand;
    lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(await usage());
    return name ? 0 : EXIT_USAGE;
  }
  if (!commandNames().includes(name)) {
    console.error(`minigpt-bot: unknown command '${name}' (try --help)`);
    return EXIT_USAGE;
  }
  const mod = (await import(join(commandsDir, `${name}.ts`))) as CliCommand;
  return mod.run(rest);
}
