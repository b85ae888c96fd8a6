import { type Job, Queue, QueueEvents } from 'bullmq';
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
import { QueuePlaces } from './queue-places.ts';

export interface QueueEngineOptions {
  url: string;
  /** How long an image's bytes stay in Redis after the last request that used them. */
  imageTtlSeconds: number;
  /** A new request is refused (InputError 'queue-full') when this many jobs already wait on its queue. */
  maxQueue: number;
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
 * Chooses a job's queue in Redis itself: the worker that answered the conversation last (KEYS[1]) if its
 * heartbeat key (ARGV[1] + its id) lives, else the shared queue (ARGV[2]); recorded under the job id (KEYS[2],
 * ARGV[4] seconds) unless an earlier delivery recorded one. Returns the queue and 1 when this call chose it.
 * (It reads a key it is not given, the worker's: one Redis, not a cluster, as the architecture says.)
 */
const PICK_QUEUE = `
local owner = redis.call('GET', KEYS[1])
local chosen = ARGV[2]
if owner and redis.call('EXISTS', ARGV[1] .. owner) == 1 then chosen = ARGV[3] .. owner end
if redis.call('SET', KEYS[2], chosen, 'EX', ARGV[4], 'NX') then return {chosen, 1} end
return {redis.call('GET', KEYS[2]), 0}
`;

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
  private readonly places = new QueuePlaces();
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
      const [{ name: queueName, isNew }] = await Promise.all([
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
      // Counted once the job is in, so a worker may take it meanwhile: the count is not on the way to the answer.
      if (isNew) await this.refuseWhenFull(queue, job);
      const stopTelling = onQueued ? this.places.watch(queue, jobId, onQueued) : undefined;
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
    this.places.close();
    await Promise.all([...this.queues.values()].flatMap(({ queue, events }) => [queue.close(), events.close()]));
    this.connections.disconnectAll();
  }

  /**
   * The caching worker's queue while it is alive, else the shared one. The choice is recorded under the job id
   * first, so a redelivered event lands on the queue (and the job) the first delivery chose. `isNew`: no earlier
   * delivery (or a gateway before a restart) chose one. One round trip (PICK_QUEUE), as it stands before the
   * first token of every answer.
   */
  private async pickQueue(jobId: string, conversation: string): Promise<{ name: string; isNew: boolean }> {
    const [name, isNew] = (await this.redis.eval(
      PICK_QUEUE,
      2,
      keys.affinity(conversation),
      keys.jobQueue(jobId),
      keys.worker(''),
      QUEUE_NAME,
      workerQueue(''),
      KEEP_FINISHED_SECONDS,
    )) as [string, number];
    return { name, isNew: isNew === 1 };
  }

  /**
   * The limit on waiting requests, as the in-process queue applies it, on the real queue: a new job that finds
   * more than maxQueue jobs waiting with it (itself included) is taken out again while no worker holds it, and its
   * claim dropped so that it may be asked again. Gateways count on their own, so a few more may slip in when
   * several add at the same instant.
   */
  private async refuseWhenFull(queue: Queue<JobData, JobResult>, job: Job<JobData, JobResult>): Promise<void> {
    const waiting = await queue.getWaitingCount();
    if (waiting <= this.options.maxQueue) return;
    const removed = await job.remove().then(
      () => true,
      () => false, // a worker took it after all: it is answered
    );
    if (!removed) return;
    await this.redis.del(keys.jobQueue(job.id ?? ''));
    throw new InputError('queue-full', { waiting: waiting - 1 });
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
