import Database from 'better-sqlite3';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { MINI_MODEL_DIR } from '../../src/inference/model-dir.ts';
import { FakeDiscord } from '../fakes/discord/index.ts';
import { FakeSlack } from '../fakes/slack/server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** The config file every bot process reads, in its own folder. */
export const CONFIG_FILE = 'bot.yaml';

/** A config's sections, as the YAML file holds them. */
export type BotConfig = Record<string, Record<string, unknown>>;

/**
 * Writes `dir`/bot.yaml: the mini model on one thread (the tests share the machine's cores), then `config`, whose
 * sections replace these defaults key by key (`{ model: { dir } }` keeps `threads: 1`).
 */
export function writeBotConfig(dir: string, config: BotConfig = {}): void {
  const sections: BotConfig = { ...config, model: { dir: MINI_MODEL_DIR, threads: 1, ...config.model } };
  writeFileSync(join(dir, CONFIG_FILE), stringify(sections));
}

/** A fresh temporary folder holding bot.yaml (see `writeBotConfig`); the bot process runs in it. */
export function botFolder(config: BotConfig = {}, prefix = 'minigpt-bot-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeBotConfig(dir, config);
  return dir;
}

/** The environment that points a bot process at the fakes; every port it opens is a free one. */
export function fakesEnv(fakes: {
  discord?: FakeDiscord;
  slack?: FakeSlack;
  signingSecret?: string;
}): NodeJS.ProcessEnv {
  const { discord, slack, signingSecret } = fakes;
  const slackEnv = slack && {
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    SLACK_PORT: '0',
  };
  return {
    METRICS_PORT: '0',
    ...(discord ? { DISCORD_TOKEN: discord.token, DISCORD_API_URL: discord.apiUrl } : {}),
    ...slackEnv,
  };
}

/** One bot process (`npm start`, or a `minigpt-bot` subcommand), with its output kept for assertions. */
export interface BotProcess {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  /** The structured log lines on stderr, parsed. */
  logs(): Record<string, unknown>[];
  /** Waits (bounded) for a log line whose `msg` is `msg`, and returns it. */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Waits (bounded) for the Slack adapter to start, and returns the URL it takes events at. */
  slackEventsUrl(timeoutMs?: number): Promise<string>;
  /** Waits (bounded) for Discord to connect and Slack to start, and returns the URL Slack takes events at. */
  adaptersUp(timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code once the process ends by itself; rejects after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<number | null>;
  /** Sends SIGTERM and resolves with the exit code (bounded: a process that hangs fails the test). */
  terminate(timeoutMs?: number): Promise<number | null>;
  /** SIGKILLs the whole process tree (no shutdown of any kind, as a crash or the OOM killer) once it is gone. */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** A `minigpt-bot` subcommand (`'worker'`: `minigpt-bot worker --config bot.yaml`) instead of `npm start`. */
  command?: string;
  /** The arguments after the program; `--config bot.yaml` unless given. */
  args?: string[];
  /** What is typed on stdin before it closes. */
  input?: string;
}

const started = new Set<BotProcess>();

/**
 * Starts a bot process in `dir`. Its environment is `env` and PATH alone: tokens in the environment that runs the
 * tests never reach it. Every process started is killed, with its children, by `killBotProcesses`.
 */
export function startBotProcess(dir: string, env: NodeJS.ProcessEnv, options: StartOptions = {}): BotProcess {
  const program = options.command
    ? [join(ROOT, 'bin/minigpt-bot.js'), options.command]
    : [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'app/main.ts')];
  const child = spawn(process.execPath, [...program, ...(options.args ?? ['--config', CONFIG_FILE])], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.on('error', () => undefined); // it may exit before reading what was typed
  child.stdin.end(options.input ?? '');
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const logs = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const logLine = (msg: string, timeoutMs = 60_000) =>
    until(
      () => logs().find((l) => l.msg === msg),
      `the log line "${msg}"; stderr so far:\n${stderr}`,
      timeoutMs,
      () => child.exitCode !== null,
    );
  const slackEventsUrl = async (timeoutMs?: number) => {
    const line = await logLine('slack adapter started', timeoutMs);
    return `http://127.0.0.1:${String(line.port)}/slack/events`;
  };
  const exit = async (timeoutMs = 30_000) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the bot did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const [code] = await Promise.race([exited, late]);
      return code;
    } finally {
      clearTimeout(timer);
    }
  };

  const bot: BotProcess = {
    child,
    out: () => stdout,
    err: () => stderr,
    logs,
    logLine,
    slackEventsUrl,
    async adaptersUp(timeoutMs) {
      await logLine('discord: connected', timeoutMs);
      return slackEventsUrl(timeoutMs);
    },
    exit,
    terminate(timeoutMs) {
      child.kill('SIGTERM');
      return exit(timeoutMs);
    },
    async kill() {
      // tsx runs the program in a child of its own: all die at once, as a crash or the OOM killer would do it.
      for (const pid of processTree(child.pid!).reverse()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
  started.add(bot);
  void exited.then(() => started.delete(bot));
  return bot;
}

/** Kills every bot process this file started that is still running, with all its children. */
export async function killBotProcesses(): Promise<void> {
  await Promise.all([...started].map((bot) => bot.kill()));
}

/** Both fakes, for bot processes that run Discord and Slack at once. */
export class BothFakes {
  private constructor(
    readonly discord: FakeDiscord,
    readonly slack: FakeSlack,
    readonly signingSecret: string,
  ) {}

  static async start(signingSecret: string): Promise<BothFakes> {
    return new BothFakes(await FakeDiscord.start(), await FakeSlack.start(), signingSecret);
  }

  /** Starts `npm start` in `dir` on both; resolves once Discord is connected and Slack takes events. */
  async startBot(dir: string): Promise<{ bot: BotProcess; eventsUrl: string }> {
    const bot = startBotProcess(dir, fakesEnv(this));
    return { bot, eventsUrl: await bot.adaptersUp() };
  }

  /** Kills every bot process still running, then closes both fakes. */
  async close(): Promise<void> {
    await killBotProcesses();
    await this.discord.close();
    await this.slack.close();
  }
}

/** What a bot process that ran to its end printed, and how it ended; `hung`: killed after `timeoutMs`. */
export interface BotRun {
  code: number | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Runs a bot process to its end (see `startBotProcess`); one still running after `timeoutMs` is killed. */
export async function runBotProcess(
  dir: string,
  env: NodeJS.ProcessEnv,
  options: StartOptions = {},
  timeoutMs = 120_000,
): Promise<BotRun> {
  const bot = startBotProcess(dir, env, options);
  let code: number | null = null;
  let hung = false;
  try {
    code = await bot.exit(timeoutMs);
  } catch {
    hung = true;
    await bot.kill();
  }
  return { code, stdout: bot.out(), stderr: bot.err(), hung };
}

/**
 * Where each request still in the journal of `dir`'s state file is to be answered (its platform's place: channel,
 * thread, the placeholder's id once posted), read as another process would (none before the file exists).
 */
export function journaledPlaces(dir: string, stateFile = 'state/bot.sqlite'): Record<string, unknown>[] {
  try {
    const db = new Database(join(dir, stateFile), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare<[], { place: string }>('SELECT place FROM pending').all();
      return rows.map((row) => JSON.parse(row.place) as Record<string, unknown>);
    } finally {
      db.close();
    }
  } catch {
    return []; // no state file yet, or no journal table: the table is created when the store opens
  }
}

/** How many requests are still in the journal of `dir`'s state file. */
export function journaledRequests(dir: string, stateFile = 'state/bot.sqlite'): number {
  return journaledPlaces(dir, stateFile).length;
}

/** A process and all its descendants (Linux /proc), parents first; empty once it is gone. */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
    children = listed.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Polls `check` until it gives a value; fails after `timeoutMs`, or at once when `gaveUp` says it never will. */
export async function until<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 30_000,
  gaveUp = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (gaveUp()) throw new Error(`gave up waiting for ${what}: the process exited`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
