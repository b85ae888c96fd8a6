import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes, as documented in the README: 0 done, 1 the work failed, 2 a mistake on the command line. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A mistake on the command line: printed as one line with the usage, exit 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandLine<O extends Options> {
  /** As typed after `minigpt-bot`: `ask`, `discord register`. */
  name: string;
  /** The usage line(s), without "usage: ". */
  usage: string;
  /** What --help adds after the usage. */
  help?: string;
  options: O;
  /** The positional arguments the command takes (default none), named as in the usage. */
  positionals?: { name: string; min: number; max: number };
}

export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

export function usageText(line: { usage: string; help?: string }): string {
  return `usage: ${line.usage.split('\n').join('\n       ')}${line.help ? `\n\n${line.help}` : ''}`;
}

/** One line on stderr: the command, what is wrong, and its usage; exit 2. */
export function usageFailure(line: { name: string; usage: string }, message: string): number {
  const usage = line.usage.split('\n').map((u) => u.trim()).join(' | ');
  console.error(`minigpt-bot ${line.name}: ${message} (usage: ${usage}; more with --help)`);
  return EXIT_USAGE;
}

/**
 * Parses `argv` for one command and runs `body` with the result. Every command reads its arguments this way, so
 * they all behave alike: `--help` (or `-h`) prints the usage and exits 0; an unknown option, a missing value or a
 * wrong number of arguments is one line with the usage and exit 2, and so is a UsageError thrown by `body`.
 */
export async function runCommandLine<O extends Options>(
  line: CommandLine<O>,
  argv: string[],
  body: (parsed: Parsed<O>) => Promise<number>,
): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usageText(line));
    return EXIT_OK;
  }
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, options: line.options, allowPositionals: true, strict: true });
  } catch (err) {
    return usageFailure(line, (err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''));
  }
  const { name, min, max } = line.positionals ?? { name: '', min: 0, max: 0 };
  const count = parsed.positionals.length;
  if (count > max) {
    const hint = max === 1 ? ` (quote ${name} as one argument)` : '';
    return usageFailure(line, `unexpected argument '${parsed.positionals[max]}'${hint}`);
  }
  if (count < min) return usageFailure(line, `missing ${name}`);
  try {
    return await body(parsed);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(line, err.message);
    throw err;
  }
}

/**
 * A command made of actions (`discord commands`, `discord register`): the first word picks one, whose own
 * command line reads the rest. `--help` alone lists every action's usage.
 */
export async function runActions(
  name: string,
  actions: Record<string, { usage: string; run: (argv: string[]) => Promise<number> }>,
  argv: string[],
): Promise<number> {
  const usage = Object.values(actions).map((a) => a.usage).join('\n');
  const [action, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    console.log(usageText({ usage }));
    return EXIT_OK;
  }
  if (action === undefined) return usageFailure({ name, usage }, 'which action? (see below)');
  const chosen = actions[action];
  if (!chosen) return usageFailure({ name, usage }, `unknown action '${action}'`);
  return chosen.run(rest);
}
