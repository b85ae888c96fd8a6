import { hostname } from 'node:os';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Engine } from '../inference/engine.ts';
import { InputError } from '../inference/errors.ts';
import { WORKER_LOCK_MS } from './queue-engine.ts';
import { Connections, type JobData, type JobResult, keys, QUEUE_NAME, type WorkerBeat, workerQueue } from './redis.ts';

export interface EngineWorkerOptions {
  url: string;
  engine: Engine;
  /** Jobs answered at once from each queue; the engine batches their decode steps. */
  concurrency: number;
  /** How long a conversation keeps going to this worker after its last answer (the idle expiry). */
  affinitySeconds: number;
}

const BEAT_MS = 2000;
/** Image bytes a worker keeps after answering about them: a follow-up's image is then not fetched again. */
const IMAGE_CACHE_BYTES = 64 * 1024 * 1024;
/** A worker not heard from in this long counts as gone. */
export const BEAT_TTL_SECONDS = 6;

/**
 * One engine taking jobs from the shared queue and from its own (follow-ups routed to the worker that caches
 * their conversation). BullMQ holds a lock on each job while it runs; a worker that dies (SIGKILL included) stops
 * renewing it, and a stall check puts the job back to be answered again: on the shared queue by any worker, on
 * a dead worker's own queue by the workers that adopt it.
 */
export class EngineWorker {
  readonly id = `${hostname()}-${process.pid}`;
  private readonly consumers: Worker<JobData, JobResult>[];
  /** Dead workers' queues this worker drains, by worker id. */
  private readonly adopted = new Map<string, Worker<JobData, JobResult>>();
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly beat: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  private completed = 0;
  private failed = 0;
  private readonly connections: Connections;
  /** Recently used images by hash, least recently used first, at most IMAGE_CACHE_BYTES in all. */
  private readonly images = new Map<string, Uint8Array>();
  private imageBytes = 0;

  private constructor(private readonly options: EngineWorkerOptions) {
    this.connections = new Connections(options.url);
    this.redis = this.connections.connect();
    this.subscriber = this.connections.connect();
    this.consumers = [this.consume(QUEUE_NAME), this.consume(workerQueue(this.id))];
    this.subscriber.on('message', (_channel: string, conversation: string) => options.engine.forget(conversation));
    this.beat = setInterval(() => void this.tick(), BEAT_MS);
  }

  static async start(options: EngineWorkerOptions): Promise<EngineWorker> {
    const worker = new EngineWorker(options);
    await worker.subscriber.subscribe(keys.forget);
    // Alive before it is listed: a worker that finds it listed never takes it for dead and adopts its queue.
    await worker.publishBeat();
    await worker.redis.sadd(keys.workerIds, worker.id);
    await worker.lookAround();
    await Promise.all(worker.consumers.map((c) => c.waitUntilReady()));
    return worker;
  }

  /** Lets the jobs in hand finish; what waits on this worker's own queue is adopted by the others. */
  async close(): Promise<void> {
    clearInterval(this.beat);
    await Promise.all([...this.consumers, ...this.adopted.values()].map((c) => c.close()));
    await this.redis.del(keys.worker(this.id));
    this.connections.disconnectAll();
  }

  private consume(queue: string): Worker<JobData, JobResult> {
    const consumer = new Worker<JobData, JobResult>(queue, (job) => this.answer(job), {
      connection: this.connections.connect(),
      concurrency: this.options.concurrency,
      lockDuration: WORKER_LOCK_MS,
      stalledInterval: WORKER_LOCK_MS / 2,
      maxStalledCount: 3,
      name: this.id,
    });
    consumer.on('completed', () => this.completed++);
    consumer.on('failed', () => this.failed++);
    return consumer;
  }

  private async answer(job: Job<JobData, JobResult>): Promise<JobResult> {
    const { imageHash, ...rest } = job.data;
    const image = await this.image(imageHash);
    if (!image) throw new Error(`the image of job ${job.id} expired before it was answered`);
    const channel = keys.text(job.id ?? '');
    const began = Date.now();
    try {
      const result = await this.options.engine.generate({ ...rest, image, imageHash }, (text) => {
        void this.redis.publish(channel, text).catch(() => undefined);
      });
      await this.redis.set(keys.affinity(rest.conversation), this.id, 'EX', this.options.affinitySeconds);
      const waitedMs = (job.processedOn ?? began) - job.timestamp;
      const times = { worker: this.id, waitedMs, ranMs: Date.now() - began };
      return { result, times };
    } catch (error) {
      if (error instanceof InputError) return { inputError: { problem: error.problem, context: error.context } };
      throw error;
    }
  }

  /** An image's bytes: kept from an earlier job, else read from Redis (undefined once expired there). */
  private async image(hash: string): Promise<Uint8Array | undefined> {
    const kept = this.images.get(hash);
    if (kept) {
      this.images.delete(hash);
      this.images.set(hash, kept);
      return kept;
    }
    const stored = await this.redis.getBuffer(keys.image(hash));
    if (!stored) return undefined;
    const bytes = new Uint8Array(stored);
    this.images.set(hash, bytes);
    this.imageBytes += bytes.byteLength;
    for (const [oldest, dropped] of this.images) {
      if (this.imageBytes <= IMAGE_CACHE_BYTES) break;
      this.images.delete(oldest);
      this.imageBytes -= dropped.byteLength;
    }
    return bytes;
  }

  private async tick(): Promise<void> {
    await this.publishBeat();
    await this.lookAround().catch(() => undefined);
  }

  /**
   * Counts the live workers, this one included, and takes its share of new conversations: from the shared queue
   * each worker takes at most its part of the batch at once. Otherwise the first worker to wake takes them all,
   * their follow-ups stay with it (its cache), and the others idle. Follow-ups on its own queue use the whole
   * batch. Then drains the queues of workers whose heartbeat expired, and lets a drained one go.
   */
  private async lookAround(): Promise<void> {
    let live = 1;
    for (const id of await this.redis.smembers(keys.workerIds)) {
      if (id === this.id) continue;
      const adopter = this.adopted.get(id);
      if ((await this.redis.exists(keys.worker(id))) === 1) {
        live++;
        // Taken for dead, it was not (a heartbeat late under load): its queue is its own again.
        if (adopter) {
          this.adopted.delete(id);
          await adopter.close();
        }
        continue;
      }
      if (!adopter) {
        this.adopted.set(id, this.consume(workerQueue(id)));
        continue;
      }
      const queue = new Queue(workerQueue(id), { connection: this.redis });
      const counts = await queue
        .getJobCounts('waiting', 'active', 'delayed', 'prioritized')
        .finally(() => queue.close());
      if (Object.values(counts).every((n) => n === 0)) {
        this.adopted.delete(id);
        await adopter.close();
        await this.redis.srem(keys.workerIds, id);
      }
    }
    this.consumers[0]!.concurrency = Math.ceil(this.options.concurrency / live);
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
