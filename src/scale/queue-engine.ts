import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BotEngine } from '../bot/types.ts';
import { hashImage } from '../bot/image.ts';
import { InputError } from '../inference/errors.ts';
import type { GenerateRequest, GenerateResult } from '../inference/types.ts';
import {
  Connections,
  type JobData,
  type JobResult,
  type JobTimes,
  jobIdFor,
  keys,
  QUEUE_NAME,
  workerQueue,
} from './redis.ts';

export interface QueueEngineOptions {
  url: string;
  /** How long an image's bytes stay in Redis after the last request that used them. */
  imageTtlSeconds: number;
  /** Told about every answered job (for /metrics). */
  onAnswered?: (times: JobTimes, visionCached: boolean) => void;
}

/** Jobs one gateway may have in flight; past the local cap the real queue does the waiting. */
const IN_FLIGHT = 10_000;

/** Lock and stall settings shared by the queue's workers: a killed worker's job is retried within seconds. */
export const WORKER_LOCK_MS = 4000;
/** A finished job is kept this long (Slack's retries end within 15 minutes): a redelivery enqueues nothing. */
const KEEP_FINISHED_SECONDS = 900;

/**
 * The engine as a gateway sees it: each request becomes a BullMQ job whose id comes from the platform event,
 * its text streams back over pub/sub to this gateway alone, and the result comes back through the queue's
 * events. A follow-up goes to the queue of the worker that answered the conversation last while that worker
 * is alive, so its cached KV and image embeddings are reused; otherwise to the shared queue. A job retried after
 * its worker died streams from the start again; the caller still gets one result.
 */
export class QueueEngine implements BotEngine {
  private readonly queues = new Map<string, { queue: Queue<JobData, JobResult>; events: QueueEvents }>();
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly listeners = new Map<string, (text: string) => void>();
  private readonly connections: Connections;
  /** The bot's own queue lets this many through: the BullMQ queue and its workers decide what runs. */
  readonly capacity = IN_FLIGHT;

  private constructor(private readonly options: QueueEngineOptions) {
    this.connections = new Connections(options.url);
    this.redis = this.connections.connect();
    this.subscriber = this.connections.connect();
    this.subscriber.on('message', (channel: string, text: string) => this.listeners.get(channel)?.(text));
  }

  static async open(options: QueueEngineOptions): Promise<QueueEngine> {
    const engine = new QueueEngine(options);
    await Promise.all([engine.queue(QUEUE_NAME), engine.redis.ping()]);
    return engine;
  }

  async generate(
    request: GenerateRequest,
    onText?: (textSoFar: string) => void,
    onQueued?: (position: number) => void,
  ): Promise<GenerateResult> {
    const hash = request.imageHash ?? hashImage(request.image);
    const jobId = jobIdFor(request.requestId);
    const channel = keys.text(jobId);
    if (onText) this.listeners.set(channel, onText);
    try {
      // Independent round trips, overlapped: they make up most of what the queue adds before the first token.
      const [queueName] = await Promise.all([
        this.pickQueue(jobId, request.conversation),
        this.storeImage(hash, request.image),
        onText ? this.subscriber.subscribe(channel) : undefined,
      ]);
      const data: JobData = {
        conversation: request.conversation,
        imageHash: hash,
        history: request.history,
        task: request.task,
        question: request.question,
        ...(request.generation ? { generation: request.generation } : {}),
      };
      const { queue, events } = await this.queue(queueName);
      const removal = { age: KEEP_FINISHED_SECONDS };
      const job = await queue.add('generate', data, { jobId, removeOnComplete: removal, removeOnFail: removal });
      const stopTelling = onQueued ? tellPlace(queue, jobId, onQueued) : undefined;
      const finished = (await job.waitUntilFinished(events).finally(() => stopTelling?.())) as JobResult;
      if ('inputError' in finished) throw new InputError(finished.inputError.problem, finished.inputError.context);
      this.options.onAnswered?.(finished.times, finished.result.visionCached);
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

  /** Jobs waiting for a worker on the shared queue. */
  async waiting(): Promise<number> {
    return (await this.queue(QUEUE_NAME)).queue.getWaitingCount();
  }

  /** Whether Redis answers right now (for /healthz). */
  connected(): boolean {
    return this.redis.status === 'ready';
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].flatMap(({ queue, events }) => [queue.close(), events.close()]));
    this.connections.disconnectAll();
  }

  /**
   * The caching worker's queue while it is alive, else the shared one. The choice is recorded under the job id
   * first, so a redelivered event lands on the queue (and the job) the first delivery chose.
   */
  private async pickQueue(jobId: string, conversation: string): Promise<string> {
    const owner = await this.redis.get(keys.affinity(conversation));
    const alive = owner !== null && (await this.redis.exists(keys.worker(owner))) === 1;
    const chosen = alive ? workerQueue(owner) : QUEUE_NAME;
    const claimed = await this.redis.set(keys.jobQueue(jobId), chosen, 'EX', KEEP_FINISHED_SECONDS, 'NX');
    return claimed ? chosen : ((await this.redis.get(keys.jobQueue(jobId))) ?? chosen);
  }

  /** The bytes once per image; each use pushes the expiry back. */
  private async storeImage(hash: string, bytes: Uint8Array): Promise<void> {
    const key = keys.image(hash);
    const ttl = this.options.imageTtlSeconds;
    await this.redis.multi().set(key, Buffer.from(bytes), 'EX', ttl, 'NX').expire(key, ttl).exec();
  }

  private async queue(name: string): Promise<{ queue: Queue<JobData, JobResult>; events: QueueEvents }> {
    let entry = this.queues.get(name);
    if (!entry) {
      const { connections } = this;
      entry = {
        queue: new Queue(name, { connection: connections.connect() }),
        events: new QueueEvents(name, { connection: connections.connect() }),
      };
      // Each job waited for listens on both until it finishes: as many listeners as jobs in flight.
      entry.queue.setMaxListeners(0);
      entry.events.setMaxListeners(0);
      this.queues.set(name, entry);
      await Promise.all([entry.queue.waitUntilReady(), entry.events.waitUntilReady()]);
    }
    return entry;
  }
}

/** How often a waiting job's place is read again. */
const PLACE_POLL_MS = 1000;
/** Places are read among this many of the oldest waiting jobs; a job further back is told nothing yet. */
const PLACES_READ = 200;

/**
 * Tells a waiting job's place in its queue (1: next), read from the queue itself, each time it changes; stops
 * when the job leaves the waiting list or `stop` is called.
 */
function tellPlace(queue: Queue<JobData, JobResult>, jobId: string, onQueued: (position: number) => void): () => void {
  let told = 0;
  let stopped = false;
  const read = async (): Promise<void> => {
    const waiting = await queue.getJobs(['waiting'], 0, PLACES_READ - 1, true);
    const place = waiting.findIndex((job) => job.id === jobId) + 1;
    if (stopped || place === 0) return;
    if (place !== told) onQueued(place);
    told = place;
  };
  const timer = setInterval(() => void read().catch(() => undefined), PLACE_POLL_MS);
  void read().catch(() => undefined);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
