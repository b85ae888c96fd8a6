import { appendFileSync, readFileSync } from 'node:fs';
import { processTree, startBotProcess, type BotProcess } from '../../test/helpers/bot-process.ts';
import { crashThread, type BotThread } from './thread-crash.ts';

/** Resident memory of a process tree in MiB (tsx's launcher and the program), from /proc. */
function rssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const line = readFileSync(`/proc/${p}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m);
      kib += Number(line?.[1] ?? 0);
    } catch {
      // exited between the listing and the read
    }
  }
  return kib / 1024;
}

/**
 * The `npm start` processes of one soak run, one at a time: started, killed, stopped and restarted on the same
 * state file. Any exit it did not cause is a crash; memory is sampled while one runs.
 */
export class Fleet {
  private current: BotProcess | undefined;
  private expectingExit = false;
  private readonly sampler: NodeJS.Timeout;
  crashes = 0;
  peakRssMiB = 0;
  readonly crashLogs: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
    /** Where every run's stderr is kept, one after the other, to look up what became of a request. */
    readonly logFile: string,
  ) {
    this.sampler = setInterval(() => {
      if (this.current?.child.pid) this.peakRssMiB = Math.max(this.peakRssMiB, rssMiB(this.current.child.pid));
    }, 250);
  }

  /** Starts the bot and resolves once both adapters are up, with the Slack events URL. */
  async start(): Promise<string> {
    const bot = startBotProcess(this.dir, this.env);
    this.current = bot;
    this.expectingExit = false;
    bot.child.once('exit', (code, signal) => {
      appendFileSync(this.logFile, `${bot.err()}\n--- exit ${String(code ?? signal)}\n`);
      if (this.expectingExit) return;
      this.crashes += 1;
      this.crashLogs.push(`exit ${String(code ?? signal)}: ${bot.err().split('\n').slice(-5).join('\n')}`);
    });
    return bot.adaptersUp(120_000);
  }

  /** Crashes the running bot's `thread` while `work()`'s requests reach it; whether it did. */
  crashThread(thread: BotThread, work: () => Promise<void>, timeoutMs: number): Promise<boolean> {
    return this.current ? crashThread(this.current, thread, work, timeoutMs) : Promise.resolve(false);
  }

  rssNowMiB(): number {
    return this.current?.child.pid ? rssMiB(this.current.child.pid) : 0;
  }

  /** SIGKILL, as a crash or the OOM killer would stop it. */
  async kill(): Promise<void> {
    this.expectingExit = true;
    await this.current?.kill();
  }

  /** SIGTERM: a graceful stop must exit 0. */
  async terminate(): Promise<void> {
    this.expectingExit = true;
    const code = await this.current?.terminate(60_000);
    if (code !== 0) {
      this.crashes += 1;
      this.crashLogs.push(`SIGTERM exit ${String(code)}: ${this.current?.err().split('\n').slice(-5).join('\n')}`);
    }
  }

  close(): void {
    clearInterval(this.sampler);
  }
}
