import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Engine } from '../inference/engine.ts';
import { InputError } from '../inference/errors.ts';
import { WORKER_LOCK_MS } from './queue-engine.ts';
import { connect, type JobData, type JobResult, keys, QUEUE_NAME, type WorkerBeat } from './redis.ts';

export interface EngineWorkerOptions {
  url: string;
  engine: Engine;
  /** Jobs answered at once; the engine batches their decode steps. */
  concurrency: number;
}

const BEAT_MS = 2000;
/** A worker not heard from in this long counts as gone. */
export const BEAT_TTL_SECONDS = 6;

/**
 * One engine taking jobs from the queue. BullMQ holds a lock on each job while it runs; a worker that dies
 * (SIGKILL included) stops renewing it, and another worker's stall check puts the job back to be answered again.
 */
export class EngineWorker {
  readonly id = `${hostname()}-${process.pid}`;
  private readonly worker: Worker<JobData, JobResult>;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly beat: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private completed = 0;
  private failed = 0;

  private constructor(private readonly options: EngineWorkerOptions) {
    this.redis = connect(options.url);
    this.subscriber = connect(options.url);
    this.worker = new Worker<JobData, JobResult>(QUEUE_NAME, (job) => this.answer(job), {
      connection: connect(options.url),
      concurrency: options.concurrency,
      lockDuration: WORKER_LOCK_MS,
      stalledInterval: WORKER_LOCK_MS / 2,
      maxStalledCount: 3,
      autorun: false,
      name: this.id,
    });
    this.worker.on('completed', () => this.completed++);
    this.worker.on('failed', () => this.failed++);
    this.subscriber.on('message', (_channel: string, conversation: string) => options.engine.forget(conversation));
    this.beat = setInterval(() => void this.publishBeat(), BEAT_MS);
  }

  static async start(options: EngineWorkerOptions): Promise<EngineWorker> {
    const worker = new EngineWorker(options);
    await worker.subscriber.subscribe(keys.forget);
    await worker.publishBeat();
    void worker.worker.run();
    await worker.worker.waitUntilReady();
    return worker;
  }

  async close(): Promise<void> {
    clearInterval(this.beat);
    await this.worker.close();
    await this.redis.del(keys.worker(this.id));
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  private async answer(job: Job<JobData, JobResult>): Promise<JobResult> {
    const { imageHash, ...rest } = job.data;
    const image = await this.redis.getBuffer(keys.image(imageHash));
    if (!image) throw new Error(`the image of job ${job.id} expired before it was answered`);
    const channel = keys.text(job.id ?? '');
    try {
      const result = await this.options.engine.generate({ ...rest, image: new Uint8Array(image) }, (text) => {
        void this.redis.publish(channel, text).catch(() => undefined);
      });
      return { result };
    } catch (error) {
      if (error instanceof InputError) return { inputError: error.message };
      throw error;
    }
  }

  private async publishBeat(): Promise<void> {
    const counters = await this.options.engine.counters().catch(() => undefined);
    const beat: WorkerBeat = {
      id: this.id,
      pid: process.pid,
      device: this.options.engine.device,
      startedAt: this.startedAt,
      completed: this.completed,
      failed: this.failed,
      visionRuns: counters?.visionRuns ?? 0,
      cacheHits: counters?.cacheHits ?? 0,
    };
    await this.redis.set(keys.worker(this.id), JSON.stringify(beat), 'EX', BEAT_TTL_SECONDS).catch(() => undefined);
  }
}
