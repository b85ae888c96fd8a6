import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BotEngine } from '../bot/types.ts';
import { imageHash } from '../bot/conversations.ts';
import { InputError } from '../inference/errors.ts';
import type { GenerateRequest, GenerateResult } from '../inference/types.ts';
import { connect, type JobData, type JobResult, jobIdFor, keys, QUEUE_NAME } from './redis.ts';

export interface QueueEngineOptions {
  url: string;
  /** How long an image's bytes stay in Redis after the last request that used them. */
  imageTtlSeconds: number;
  /** A finished job is kept this long, so a redelivered event finds it and enqueues nothing. */
  keepFinishedSeconds?: number;
}

/** Lock and stall settings shared by the queue's workers: a killed worker's job is retried within seconds. */
export const WORKER_LOCK_MS = 4000;

/**
 * The engine as a gateway sees it: each request becomes a BullMQ job whose id comes from the platform event,
 * its text streams back over pub/sub to this gateway alone, and the result comes back through the queue's
 * events. A job retried after its worker died streams from the start again; the caller still gets one result.
 */
export class QueueEngine implements BotEngine {
  private readonly queue: Queue<JobData, JobResult>;
  private readonly events: QueueEvents;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly listeners = new Map<string, (text: string) => void>();

  private constructor(private readonly options: QueueEngineOptions) {
    this.redis = connect(options.url);
    this.subscriber = connect(options.url);
    this.queue = new Queue(QUEUE_NAME, { connection: connect(options.url) });
    this.events = new QueueEvents(QUEUE_NAME, { connection: connect(options.url) });
    this.subscriber.on('message', (channel: string, text: string) => this.listeners.get(channel)?.(text));
  }

  static async open(options: QueueEngineOptions): Promise<QueueEngine> {
    const engine = new QueueEngine(options);
    await Promise.all([engine.events.waitUntilReady(), engine.queue.waitUntilReady(), engine.redis.ping()]);
    return engine;
  }

  async generate(request: GenerateRequest, onText?: (textSoFar: string) => void): Promise<GenerateResult> {
    const hash = imageHash(request.image);
    await this.storeImage(hash, request.image);
    const jobId = jobIdFor(request.requestId);
    const channel = keys.text(jobId);
    if (onText) {
      this.listeners.set(channel, onText);
      await this.subscriber.subscribe(channel);
    }
    try {
      const data: JobData = {
        conversation: request.conversation,
        imageHash: hash,
        history: request.history,
        task: request.task,
        question: request.question,
        ...(request.generation ? { generation: request.generation } : {}),
      };
      const keep = this.options.keepFinishedSeconds ?? 900;
      const job = await this.queue.add('generate', data, {
        jobId,
        removeOnComplete: { age: keep },
        removeOnFail: { age: keep },
      });
      const finished = (await job.waitUntilFinished(this.events)) as JobResult;
      if ('inputError' in finished) throw new InputError(finished.inputError);
      return finished.result;
    } finally {
      if (onText) {
        this.listeners.delete(channel);
        await this.subscriber.unsubscribe(channel);
      }
    }
  }

  /** Every worker drops the conversation's cached image embeddings and KV. */
  forget(conversation: string): void {
    void this.redis.publish(keys.forget, conversation).catch(() => undefined);
  }

  /** Jobs waiting for a worker. */
  waiting(): Promise<number> {
    return this.queue.getWaitingCount();
  }

  /** Whether Redis answers right now (for /healthz). */
  connected(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.queue.close()]);
    this.subscriber.disconnect();
    this.redis.disconnect();
  }

  /** The bytes once per image; each use pushes the expiry back. */
  private async storeImage(hash: string, bytes: Uint8Array): Promise<void> {
    const key = keys.image(hash);
    await this.redis
      .multi()
      .set(key, Buffer.from(bytes), 'EX', this.options.imageTtlSeconds, 'NX')
      .expire(key, this.options.imageTtlSeconds)
      .exec();
  }
}
