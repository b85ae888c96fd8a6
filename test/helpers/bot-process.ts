import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

/** One `npm start` process (tsx app/main.ts --config FILE), with its output kept for assertions. */
export interface BotProcess {
  child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  /** The structured log lines on stderr, parsed. */
  logs(): Record<string, unknown>[];
  /** Waits (bounded) for a log line whose `msg` is `msg`, and returns it. */
  logLine(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit code (bounded: a process that hangs fails the test). */
  terminate(timeoutMs?: number): Promise<number | null>;
  /** Sends SIGKILL (no shutdown of any kind, as a crash or the OOM killer) and resolves once the process is gone. */
  kill(): Promise<void>;
}

/** `command` runs a subcommand (`['worker']`: `minigpt-bot worker --config FILE`) instead of `npm start`. */
export function startBotProcess(cwd: string, configFile: string, env: NodeJS.ProcessEnv, command?: string[]): BotProcess {
  const entry = command ? [join(ROOT, 'bin/minigpt-bot.js'), ...command] : [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'app/main.ts')];
  const child = spawn(process.execPath, [...entry, '--config', configFile], {
    cwd,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.end();
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const logs = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  return {
    child,
    out: () => stdout,
    err: () => stderr,
    logs,
    logLine: (msg, timeoutMs = 60_000) =>
      until(() => logs().find((l) => l.msg === msg), `the log line "${msg}"; stderr so far:\n${stderr}`, timeoutMs, () => child.exitCode !== null),
    async terminate(timeoutMs = 30_000) {
      child.kill('SIGTERM');
      const timer = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`the bot did not exit within ${timeoutMs} ms of SIGTERM`)), timeoutMs).unref(),
      );
      const [code] = await Promise.race([exited, timer]);
      return code;
    },
    async kill() {
      // tsx runs the program in a child of its own: both die at once, as a crash or the OOM killer would do it.
      const pids = [...processTree(child.pid!)].reverse();
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}

/** A process and all its descendants (Linux /proc), parents first; empty once it is gone. */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Polls `check` until it gives a value; fails after `timeoutMs`, or at once when `gaveUp` says it never will. */
export async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000, gaveUp = () => false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (gaveUp()) throw new Error(`gave up waiting for ${what}: the process exited`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
