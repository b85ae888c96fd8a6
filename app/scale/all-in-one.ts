import type { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/log.ts';
import { runGateway } from './gateway.ts';
import { checkReachable, redisUrl } from '../../src/scale/redis.ts';
import { loadEngine } from '../../src/config/engine.ts';

/** `npm start` with REDIS_URL: the gateway and one worker in this process, on the Redis backend. */
export async function runScaledAllInOne(config: Config, log: Logger, withConsole: boolean): Promise<number> {
  await checkReachable(redisUrl(config)); // before the engine's thread, which would keep a failed start alive
  return runGateway(config, log, { engine: await loadEngine(config, log), console: withConsole });
}
