import Bottleneck from 'bottleneck';
import { fail, ok, type Result } from '../result.ts';

export interface QueueConfig {
  /** Requests let through at once: the engine's capacity (its batch), so that its batch can fill. */
  capacity: number;
  /** Requests allowed to wait; one more is refused with `queue-full`. */
  maxQueue: number;
}

interface Waiter {
  onQueued?: (position: number) => void;
}

/**
 * The line in front of the engine: order, the waiting limit and positions; as many requests run as the engine
 * answers at once. Bottleneck runs the jobs; this class keeps the waiting line in order so each
 * waiter can be told its position, and again whenever it moves up. A job that throws rejects only its own
 * promise: the ones behind it still run.
 */
export class RequestQueue {
  private readonly limiter: Bottleneck;
  private readonly waiting: Waiter[] = [];
  private running = 0;

  constructor(private readonly config: QueueConfig) {
    this.limiter = new Bottleneck({ maxConcurrent: config.capacity });
  }

  /** Requests waiting for a free slot (a job handed to Bottleneck but not started yet counts as running). */
  get length(): number {
    return Math.max(0, this.running + this.waiting.length - this.config.capacity);
  }

  /** Whether a request arriving now would be refused; lets callers refuse before spending a user's rate limit. */
  isFull(): boolean {
    const mustWait = this.running + this.waiting.length >= this.config.capacity;
    return mustWait && this.length >= this.config.maxQueue;
  }

  async run<T>(job: () => Promise<T>, onQueued?: (position: number) => void): Promise<Result<T>> {
    if (this.isFull()) return fail('queue-full', { waiting: this.length });
    const mustWait = this.running + this.waiting.length >= this.config.capacity;
    const waiter: Waiter = { onQueued };
    this.waiting.push(waiter);
    if (mustWait) onQueued?.(this.length);
    const value = await this.limiter.schedule(async () => {
      this.running += 1;
      this.leave(waiter);
      try {
        return await job();
      } finally {
        this.running -= 1;
      }
    });
    return ok(value);
  }

  private leave(waiter: Waiter): void {
    const index = this.waiting.indexOf(waiter);
    this.waiting.splice(index, 1);
    const freeSlots = this.config.capacity - this.running;
    this.waiting.forEach((w, k) => {
      const position = k + 1 - freeSlots;
      if (k >= index && position > 0) w.onQueued?.(position);
    });
  }

  /** Waits for running and queued work to finish. */
  async drain(): Promise<void> {
    await this.limiter.stop({ dropWaitingJobs: false });
  }
}
