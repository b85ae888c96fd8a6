import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { InputContext, InputProblem } from '../inference/errors.ts';
import type { GenerateResult, GenerationConfig, TaskId, Turn } from '../inference/types.ts';

/** The BullMQ queue every gateway adds to and every worker takes from. */
export const QUEUE_NAME = 'minigpt-generate';

/** A worker's own queue: follow-ups of the conversations whose caches it holds. */
export function workerQueue(workerId: string): string {
  return `${QUEUE_NAME}-${workerId}`;
}
/** Prefix of every key this backend writes, so one Redis can be shared with other programs. */
const PREFIX = 'minigpt';

export const keys = {
  image: (hash: string) => `${PREFIX}:image:${hash}`,
  conversation: (id: string) => `${PREFIX}:conversation:${id}`,
  conversationPattern: `${PREFIX}:conversation:*`,
  /** Pub/sub: a conversation one gateway changed, for the others to read again. */
  conversationChanges: `${PREFIX}:conversation-changes`,
  worker: (id: string) => `${PREFIX}:worker:${id}`,
  workerPattern: `${PREFIX}:worker:*`,
  /** Every worker id that has a queue of its own, alive or not (the dead ones' queues get adopted). */
  workerIds: `${PREFIX}:worker-ids`,
  /** The worker that answered a conversation last, so holds its KV cache and image embeddings. */
  affinity: (conversation: string) => `${PREFIX}:affinity:${conversation}`,
  /** A platform event some gateway has taken. */
  event: (key: string) => `${PREFIX}:event:${key}`,
  /** The queue a job id was put on, so the same event is never added to a second queue. */
  jobQueue: (jobId: string) => `${PREFIX}:job-queue:${jobId}`,
  /** Pub/sub: the text so far of one job, heard only by the gateway that waits for it. */
  text: (jobId: string) => `${PREFIX}:text:${jobId}`,
  /** Pub/sub: a conversation every worker must drop from its caches. */
  forget: `${PREFIX}:forget`,
};

/** What a worker needs to answer: the image travels by content hash, its bytes stored once under keys.image. */
export interface JobData {
  conversation: string;
  imageHash: string;
  history: Turn[];
  task: TaskId;
  question: string;
  generation?: Partial<GenerationConfig>;
}

/** Who answered a job, how long it waited for a worker and how long the worker took. */
export interface JobTimes {
  worker: string;
  waitedMs: number;
  ranMs: number;
}

/** A finished job: the engine's result, or the reason the input was refused (not retried). */
export type JobResult =
  | { result: GenerateResult; times: JobTimes }
  | { inputError: { problem: InputProblem; context: InputContext } };

/** What a worker publishes about itself every few seconds; the key expires when it stops. */
export interface WorkerBeat {
  id: string;
  pid: number;
  device: string;
  startedAt: number;
  completed: number;
  failed: number;
  visionRuns: number;
  cacheHits: number;
}

export function redisBackendEnabled(config: Config): boolean {
  return (config.queue.backend ?? (config.queue.url ? 'redis' : 'memory')) === 'redis';
}

export function redisUrl(config: Config): string {
  return config.queue.url ?? 'redis://127.0.0.1:6379';
}

/**
 * A connection BullMQ accepts for blocking commands. It reconnects forever while Redis is away; those errors
 * are expected, and what is down shows in /healthz and `minigpt-bot status`, so they are not printed.
 */
export function connect(url: string): Redis {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  connection.on('error', () => undefined);
  return connection;
}

/** How long a gateway or worker waits for Redis to answer at start before it gives up. */
const REACH_TIMEOUT_MS = 5000;

/** Fails with a ConfigError naming the URL (its password hidden) when Redis does not answer at start. */
export async function checkReachable(url: string): Promise<void> {
  const probe = connect(url);
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${REACH_TIMEOUT_MS / 1000} s`)), REACH_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe.ping(), gaveUp]);
  } catch (error) {
    const shown = url.replace(/\/\/[^@]*@/, '//***@');
    throw new ConfigError(`queue.url: cannot reach Redis at ${shown} (${(error as Error).message}); set REDIS_URL`);
  } finally {
    clearTimeout(timer);
    probe.disconnect();
  }
}

/** Connections opened for one owner, all closed together (BullMQ leaves a connection it was handed open). */
export class Connections {
  private readonly open: Redis[] = [];

  constructor(private readonly url: string) {}

  connect(): Redis {
    const connection = connect(this.url);
    this.open.push(connection);
    return connection;
  }

  disconnectAll(): void {
    for (const connection of this.open.splice(0)) connection.disconnect();
  }
}

/**
 * The job id for a platform event: the same event always maps to the same id, so a redelivery adds nothing.
 * BullMQ ids may not contain ':', hence the hash. A request with no event gets a fresh id.
 */
export function jobIdFor(requestId: string | undefined): string {
  if (requestId === undefined) return randomUUID();
  return `event-${createHash('sha256').update(requestId).digest('hex').slice(0, 40)}`;
}
