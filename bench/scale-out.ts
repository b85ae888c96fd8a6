import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BotEngine } from '../src/bot/types.ts';
import { Engine } from '../src/inference/engine.ts';
import { QueueEngine } from '../src/scale/queue-engine.ts';
import type { Turn } from '../src/inference/types.ts';
import type { JobTimes } from '../src/scale/redis.ts';
import { startBotProcess, writeBotConfig, type BotProcess } from '../test/helpers/bot-process.ts';
import { startRedisServer } from './redis-server.ts';
import { concurrentAsks } from './setup.ts';
import { percentile, round } from './stats.ts';

/** What `npm run bench -- --scale-out` measures on the Redis backend with real worker processes. */
export interface ScaleOutReport {
  conversations: number;
  questions_per_conversation: number;
  max_new_tokens: number;
  workers1: Throughput;
  workers2: Throughput;
  ratios: { workers2_vs_1: number };
  /**
   * What the queue adds to time to first token against the in-process queue: per request, the first text's
   * arrival at the caller minus the engine's own first-token time, through Redis and in process (one idle
   * engine each, interleaved); p50 and p99 are the differences of those percentiles.
   */
  queue_hop_ms: { p50: number; p99: number; samples: number; through_redis: Spread; in_process: Spread };
}

interface Throughput {
  tokens_per_s: number;
  answers_per_s: number;
  /** Seconds of each timed round. */
  seconds: number[];
  /** How many of the timed answers each worker gave, most first. */
  answers_by_worker: number[];
}

interface Spread {
  p50: number;
  p99: number;
}

export interface ScaleOutPlan {
  modelDir: string;
  workDir: string;
  /** Timed rounds per worker count (each: every conversation asks a question and its follow-ups). */
  rounds: number;
  hopSamples: number;
  log: (line: string) => void;
}

const CONVERSATIONS = 16;
const TOKENS = 32;
/** A `minigpt-bot worker` process in `dir` with one onnxruntime thread; resolves once it takes jobs. */
async function startWorker(dir: string, redisUrl: string): Promise<BotProcess> {
  const worker = startBotProcess(dir, { REDIS_URL: redisUrl }, { command: 'worker' });
  try {
    await worker.logLine('worker: taking jobs', 120_000);
  } catch (error) {
    await worker.kill();
    throw error;
  }
  return worker;
}

interface Round {
  seconds: number;
  tokens: number;
}

const FOLLOW_UPS = ['and what else is there?', 'what colour is it?', 'where is it?'];

/** One round: every conversation asks its question, then its follow-ups (routed to the worker that cached it). */
async function round16(engine: QueueEngine, images: Uint8Array[], tag: string): Promise<Round> {
  const asks = concurrentAsks(CONVERSATIONS);
  const began = performance.now();
  const tokens = await Promise.all(
    asks.map(async (ask, k) => {
      const generation = { maxNewTokens: TOKENS };
      const base = { conversation: `bench-${tag}-${k}`, image: images[k]!, task: ask.task, generation };
      const history: Turn[] = [];
      let count = 0;
      for (const question of [ask.question, ...FOLLOW_UPS]) {
        const result = await engine.generate({ ...base, history: [...history], question });
        history.push({ task: ask.task, question, answer: result.raw });
        count += result.timings.tokens;
      }
      return count;
    }),
  );
  return { seconds: (performance.now() - began) / 1000, tokens: tokens.reduce((a, b) => a + b, 0) };
}

/** Timed rounds after one untimed; `answeredBy` is filled by the engine's onAnswered with each worker's count. */
async function throughput(
  engine: QueueEngine,
  images: Uint8Array[],
  label: string,
  rounds: number,
  answeredBy: Map<string, number>,
): Promise<Throughput> {
  await round16(engine, images, `${label}-warm`);
  answeredBy.clear();
  const seconds: number[] = [];
  let tokens = 0;
  for (let r = 0; r < rounds; r++) {
    const run = await round16(engine, images, `${label}-${r}`);
    seconds.push(round(run.seconds));
    tokens += run.tokens;
  }
  const total = seconds.reduce((a, b) => a + b, 0);
  const answers = rounds * CONVERSATIONS * (1 + FOLLOW_UPS.length);
  return {
    tokens_per_s: round(tokens / total),
    answers_per_s: round(answers / total),
    seconds,
    answers_by_worker: [...answeredBy.values()].sort((a, b) => b - a),
  };
}

/** One question on an idle engine: how long after the engine's own first token the caller saw the first text. */
async function firstTextDelay(engine: BotEngine, image: Uint8Array, conversation: string): Promise<number | undefined> {
  const began = performance.now();
  let firstText: number | undefined;
  const request = { conversation, image, history: [], task: 'vqa' as const, question: 'what is it?' };
  const result = await engine.generate({ ...request, generation: { maxNewTokens: 4 } }, () => {
    firstText ??= performance.now();
  });
  return firstText === undefined ? undefined : firstText - began - result.timings.firstTokenMs;
}

async function queueHops(queued: QueueEngine, plan: ScaleOutPlan, image: Uint8Array) {
  const inProcessEngine = await Engine.load(plan.modelDir, { threads: 1 });
  const through: number[] = [];
  const inProcess: number[] = [];
  try {
    for (let k = 0; k < plan.hopSamples; k++) {
      const viaRedis = await firstTextDelay(queued, image, `bench-hop-redis-${k}`);
      const inProc = await firstTextDelay(inProcessEngine, image, `bench-hop-local-${k}`);
      if (viaRedis !== undefined && inProc !== undefined) {
        through.push(viaRedis);
        inProcess.push(inProc);
      }
    }
  } finally {
    await inProcessEngine.close();
  }
  const spread = (values: number[]): Spread => ({ p50: percentile(values, 50), p99: percentile(values, 99) });
  const [redis, local] = [spread(through), spread(inProcess)];
  return {
    p50: round(redis.p50 - local.p50),
    p99: round(redis.p99 - local.p99),
    samples: through.length,
    through_redis: { p50: round(redis.p50), p99: round(redis.p99) },
    in_process: { p50: round(local.p50), p99: round(local.p99) },
  };
}

export async function benchScaleOut(plan: ScaleOutPlan): Promise<ScaleOutReport> {
  const redis = await startRedisServer();
  writeBotConfig(plan.workDir, { model: { dir: resolve(plan.modelDir) }, log: { level: 'info' } });
  const asks = concurrentAsks(CONVERSATIONS);
  const images = await Promise.all(asks.map(async (a) => new Uint8Array(await readFile(a.image))));
  const workers: BotProcess[] = [];
  const answeredBy = new Map<string, number>();
  const onAnswered = (times: JobTimes): void => {
    answeredBy.set(times.worker, (answeredBy.get(times.worker) ?? 0) + 1);
  };
  const engine = await QueueEngine.open({ url: redis.url, imageTtlSeconds: 600, maxQueue: CONVERSATIONS, onAnswered });
  try {
    plan.log('scale-out: one worker');
    workers.push(await startWorker(plan.workDir, redis.url));
    const queue_hop_ms = await queueHops(engine, plan, images[0]!);
    const workers1 = await throughput(engine, images, 'one', plan.rounds, answeredBy);
    plan.log('scale-out: two workers');
    workers.push(await startWorker(plan.workDir, redis.url));
    const workers2 = await throughput(engine, images, 'two', plan.rounds, answeredBy);
    return {
      conversations: CONVERSATIONS,
      questions_per_conversation: 1 + FOLLOW_UPS.length,
      max_new_tokens: TOKENS,
      workers1,
      workers2,
      ratios: { workers2_vs_1: round(workers2.tokens_per_s / workers1.tokens_per_s) },
      queue_hop_ms,
    };
  } finally {
    await engine.close();
    await Promise.all(workers.map((worker) => worker.terminate(60_000)));
    await redis.stop();
  }
}
