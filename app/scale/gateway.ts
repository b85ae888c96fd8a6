import { createBot } from '../../src/bot/core.ts';
import { type Running, startChatAdapters } from '../chat-adapters.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Engine } from '../../src/inference/engine.ts';
import type { Logger } from '../../src/log.ts';
import { startHealthServer } from '../../src/ops/health-server.ts';
import { instrument } from '../../src/ops/instrument.ts';
import { BotMetrics } from '../../src/ops/metrics.ts';
import { ShutdownGate, shutDownGracefully } from '../../src/ops/shutdown.ts';
import { PLUGINS } from '../../plugins/index.ts';
import { DEDUPE_TTL_MS } from '../../adapters/slack/dedupe.ts';
import { EngineWorker } from '../../src/scale/engine-worker.ts';
import { RedisEventClaims } from './event-claims.ts';
import { liveWorkers } from '../../src/scale/fleet.ts';
import { QueueEngine } from '../../src/scale/queue-engine.ts';
import { QueueMetrics } from '../../src/scale/metrics.ts';
import { checkReachable, connect, type JobTimes, redisUrl } from '../../src/scale/redis.ts';
import { RedisConversationStore } from '../../src/scale/redis-store.ts';
import { openRequestJournal } from '../../src/state/journal.ts';

/** How often the gateway reads the queue depth and the live workers for /metrics and /healthz. */
const POLL_MS = 2000;

export interface GatewayOptions {
  /** An engine to serve jobs in this process too (`npm start` with Redis): all-in-one on the scaled backend. */
  engine?: Engine;
  /** Opens the terminal chat (it needs no chat token). */
  console: boolean;
}

/**
 * The adapters and the framework over the Redis backend: requests become BullMQ jobs, conversations live in
 * Redis. Runs until SIGTERM or SIGINT, which lets answers in flight be posted first.
 */
export async function runGateway(config: Config, log: Logger, options: GatewayOptions): Promise<number> {
  const url = redisUrl(config);
  await checkReachable(url);
  const ttlSeconds = Math.round(config.conversations.idleMinutes * 60);
  const redis = connect(url);
  const metrics = new BotMetrics();
  const queueMetrics = new QueueMetrics(metrics.registry);
  const onAnswered = (times: JobTimes, visionCached: boolean): void => queueMetrics.observe(times, visionCached);
  const engine = await QueueEngine.open({
    url,
    imageTtlSeconds: ttlSeconds,
    maxQueue: config.limits.maxQueue,
    onAnswered,
  });
  const onWriteError = (error: unknown): void => log.error({ err: error }, 'redis: write failed');
  const storeListener = connect(url);
  const store = new RedisConversationStore(redis, storeListener, ttlSeconds, onWriteError);
  await store.start();
  const concurrency = config.model.maxBatch ?? 16;
  const worker = options.engine
    ? await EngineWorker.start({ url, engine: options.engine, concurrency, affinitySeconds: ttlSeconds })
    : undefined;
  const settings = {
    access: config.access,
    limits: config.limits,
    conversations: config.conversations,
    plugins: config.plugins,
  };
  const bot = createBot({ engine, plugins: PLUGINS, settings, generation: config.generation, log, store });
  let waiting = 0;
  let workers = 0;
  const poll = setInterval(() => {
    Promise.all([engine.waiting(), liveWorkers(redis)]).then(
      ([w, live]) => {
        waiting = w;
        workers = live.length;
        queueMetrics.workers.set(workers);
      },
      () => undefined,
    );
  }, POLL_MS);
  const pending = openRequestJournal(config.state.file);
  const gate = new ShutdownGate();
  const core = instrument(gate.wrap({ ...bot, queueLength: () => waiting }), metrics);
  const adapters: Running[] = [];
  const health = config.metrics.enabled === false
    ? undefined
    : await startHealthServer({
        ...config.metrics,
        metrics,
        checks: () => [
          { name: 'redis', ok: () => engine.connected() },
          { name: 'workers', ok: () => workers > 0 },
          ...adapters.map((a) => ({ name: a.name, ok: () => a.connected() })),
        ],
      });
  if (health) log.info({ url: health.url }, 'health and metrics listening');
  const shutDown = (): Promise<void> =>
    shutDownGracefully({
      gate,
      adapters,
      graceMs: config.shutdown.graceSeconds * 1000,
      abortEngine: async () => options.engine?.abort(),
      closeRest: async () => {
        clearInterval(poll);
        await bot.close();
        await worker?.close();
        await options.engine?.close();
        await engine.close();
        await health?.close();
        storeListener.disconnect();
        redis.disconnect();
        pending.close();
      },
      log,
    });
  const slackClaims = new RedisEventClaims(redis, DEDUPE_TTL_MS);
  // Accepted requests, kept in this gateway's state file until answered: after a kill, the restarted gateway asks
  // again under the same job ids, so it posts the answers a worker finished meanwhile (or is still working on).
  adapters.push(...(await startChatAdapters(core, config, log, { slackClaims, journal: pending.journal })));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutDown().then(() => process.exit(0), () => process.exit(1)));
  }
  log.info({ worker: worker?.id ?? null }, 'gateway: started');
  if (options.console || adapters.length === 0) {
    const { start } = await import('../../adapters/console/index.ts');
    const terminal = await start(core, { ...config.console, limits: config.limits }, log.child({ adapter: 'console' }));
    await terminal.finished;
    if (adapters.length === 0) await shutDown();
  }
  return 0;
}
