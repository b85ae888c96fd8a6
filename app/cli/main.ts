import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { EXIT_OK, EXIT_USAGE } from './command-line.ts';

/** A subcommand lives in app/cli/commands/<name>.ts and exports `run(argv): Promise<number>` and `summary`. */
export interface CliCommand {
  summary: string;
  run(argv: string[]): Promise<number>;
}

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function usage(): Promise<string> {
  const lines = ['usage: minigpt-bot <command> [options]   (minigpt-bot <command> --help for its options)', '', 'commands:'];
  for (const name of commandNames()) {
    const mod = (await import(join(commandsDir, `${name}.ts`))) as CliCommand;
    lines.push(`  ${name.padEnd(10)} ${mod.summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    console.log(`minigpt-bot ${version()}`);
    return EXIT_OK;
  }
  if (!name || name === '--help' || name === '-h') {
    (name ? console.log : console.error)(await usage());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  if (!commandNames().includes(name)) {
    console.error(`minigpt-bot: unknown command '${name}' (try --help)`);
    return EXIT_USAGE;
  }
  const mod = (await import(join(commandsDir, `${name}.ts`))) as CliCommand;
  return mod.run(rest);
}
