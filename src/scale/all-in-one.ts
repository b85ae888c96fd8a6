import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { runGateway } from './gateway.ts';
import { loadEngine } from './worker-role.ts';

/** `npm start` with REDIS_URL: the gateway and one worker in this process, on the Redis backend. */
export async function runScaledAllInOne(config: Config, log: Logger, withConsole: boolean): Promise<number> {
  return runGateway(config, log, { engine: await loadEngine(config, log), console: withConsole });
}
