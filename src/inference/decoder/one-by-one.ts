import type { DecodeScheduler, DecodingTask } from './driver.ts';

/**
 * The decode steps of several conversations, one decoder call each, for the `--target webgpu` layout: every
 * conversation writes its own in-place cache, which a shared call could only use after copying the caches into
 * one batch buffer and back (on the GPU, through extra graphs). Measured on an H200, 4 rows in one call
 * decoded slower in total than one row alone (107 → 77 tok/s: the fast int4 kernel serves one row only), but 16
 * rows reached 295 tok/s: many simultaneous conversations would gain from a right-padded shared call.
 */
export class DecodeOneByOne<T extends DecodingTask> implements DecodeScheduler<T> {
  private running: T[] = [];

  get size(): number {
    return this.running.length;
  }

  get tasks(): T[] {
    return [...this.running];
  }

  add(task: T): void {
    this.running.push(task);
  }

  clear(): void {
    this.running = [];
  }

  /** One token for every conversation, in turn; returns the tasks that finished (they leave). */
  async step(): Promise<T[]> {
    const finished: T[] = [];
    for (const task of this.running) if (await task.step()) finished.push(task);
    this.running = this.running.filter((t) => !finished.includes(t));
    return finished;
  }
}
