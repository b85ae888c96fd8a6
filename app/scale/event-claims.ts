import type { Redis } from 'ioredis';
import type { EventClaims } from '../../adapters/slack/dedupe.ts';
import { keys } from '../../src/scale/redis.ts';

/** Taken only when none of the keys is: all are set together, so two gateways never both take one event. */
const CLAIM_ALL = `
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'PX', ARGV[1]) end
return 1`;

/** Events taken by any gateway sharing this Redis: a retry delivered to another gateway is skipped there too. */
export class RedisEventClaims implements EventClaims {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number,
  ) {}

  async claim(...names: string[]): Promise<boolean> {
    const prefixed = names.map(keys.event);
    return (await this.redis.eval(CLAIM_ALL, prefixed.length, ...prefixed, this.ttlMs)) === 1;
  }
}
