import { loadEngine } from '../config/engine.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { EngineWorker } from './engine-worker.ts';
import { checkReachable, redisUrl } from './redis.ts';

/** One engine consuming the queue until SIGTERM or SIGINT, which lets the jobs it holds finish first. */
export async function runWorker(config: Config, log: Logger): Promise<number> {
  const url = redisUrl(config);
  await checkReachable(url);
  // A model that stops answering for good ends the worker at once: its supervisor starts it again, and the jobs it
  // held are handed to the other workers.
  const engine = await loadEngine(config, log, (reason) => {
    log.error(`worker: ${reason.message}; stopping, to be started again`);
    process.exit(1);
  });
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
