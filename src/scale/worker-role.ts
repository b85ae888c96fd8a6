import type { Config } from '../config/schema.ts';
import { Engine } from '../inference/engine.ts';
import type { Logger } from '../log.ts';
import { EngineWorker } from './engine-worker.ts';
import { checkReachable, redisUrl } from './redis.ts';

/** The engine the config describes. */
export function loadEngine(config: Config, log: Logger): Promise<Engine> {
  return Engine.load(config.model.dir, {
    device: config.model.device,
    threads: config.model.threads,
    maxBatch: config.model.maxBatch,
    maxConversations: config.conversations.maxLive,
    warn: (line) => log.warn(line),
  });
}

/** One engine consuming the queue until SIGTERM or SIGINT, which lets the jobs it holds finish first. */
export async function runWorker(config: Config, log: Logger): Promise<number> {
  const url = redisUrl(config);
  await checkReachable(url);
  const engine = await loadEngine(config, log);
  const affinitySeconds = Math.round(config.conversations.idleMinutes * 60);
  const worker = await EngineWorker.start({ url, engine, concurrency: config.model.maxBatch ?? 16, affinitySeconds });
  log.info({ worker: worker.id, model: engine.model.name, device: engine.device }, 'worker: taking jobs');
  const stop = async (): Promise<void> => {
    await worker.close();
    await engine.close();
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void stop().then(() => process.exit(0), () => process.exit(1)));
  }
  return 0;
}
