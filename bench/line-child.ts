import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A child process spoken to in JSON lines: it prints one line when ready, then answers each request with one
 * line. Keeping the paths in their own processes gives each its own peak RSS and lets the bench interleave them
 * run by run, so a ratio compares two measurements taken under the same machine load.
 */
export class LineChild {
  private readonly lines: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private exited = false;
  private stderr = '';

  private constructor(
    private readonly proc: ChildProcessWithoutNullStreams,
    readonly label: string,
  ) {
    createInterface({ input: proc.stdout }).on('line', (line) => this.push(line));
    proc.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    proc.on('exit', () => {
      this.exited = true;
      this.push(undefined);
    });
  }

  /** Starts the process and waits for its ready line (an object without `error`). */
  static async start(label: string, command: string, args: string[], timeoutMs: number): Promise<{ child: LineChild; ready: Record<string, unknown> }> {
    const child = new LineChild(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }), label);
    const ready = await child.next(timeoutMs);
    return { child, ready };
  }

  async request<T>(message: unknown, timeoutMs: number): Promise<T> {
    if (this.exited) throw this.failure('has stopped');
    this.proc.stdin.write(`${JSON.stringify(message)}\n`);
    return (await this.next(timeoutMs)) as T;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill(), 10_000);
    await gone;
    clearTimeout(timer);
  }

  private push(line: string | undefined): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(line);
    } else if (line !== undefined) {
      this.lines.push(line);
    }
  }

  private async next(timeoutMs: number): Promise<Record<string, unknown>> {
    let timer: NodeJS.Timeout | undefined;
    const line = this.lines.length > 0
      ? this.lines.shift()
      : this.exited
        ? undefined
        : await new Promise<string | undefined>((resolve) => {
            this.waiter = resolve;
            timer = setTimeout(() => {
              this.waiter = undefined;
              this.proc.kill();
              resolve(undefined);
            }, timeoutMs);
          });
    clearTimeout(timer);
    if (line === undefined) throw this.failure(this.exited ? 'stopped' : `gave no answer within ${Math.round(timeoutMs / 1000)} s`);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw this.failure(`printed something that is not JSON: ${line.slice(0, 200)}`);
    }
    if (typeof parsed.error === 'string') throw new Error(`${this.label}: ${parsed.error}`);
    return parsed;
  }

  private failure(what: string): Error {
    const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
    return new Error(`${this.label} ${what}${tail ? ` (${tail})` : ''}`);
  }
}
