import { liveWorkers, queueSnapshot } from '../../../src/scale/fleet.ts';
import { connect, redisUrl } from '../../../src/scale/redis.ts';
import { EXIT_FAILED, runCommandLine } from '../command-line.ts';
import { withConfig } from '../with-config.ts';
import type { Config } from '../../../src/config/schema.ts';

export const summary = 'status [--config FILE] [--json]: workers, queue and recent failures of the Redis backend';

const LINE = {
  name: 'status',
  usage: 'minigpt-bot status [--config FILE] [--json]',
  help: 'Reads REDIS_URL (or queue.url). Exit 1 when Redis cannot be reached within 5 seconds.',
  options: { config: { type: 'string' }, json: { type: 'boolean' } },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, ({ values }) =>
    withConfig(LINE.name, values.config, (config) => report(config, values.json === true)),
  );
}

/** Prints the fleet as Redis holds it: as JSON, or as lines for a person. */
async function report(config: Config, json: boolean): Promise<number> {
  const url = redisUrl(config);
  const redis = connect(url);
  try {
    const timeout = setTimeout(() => redis.disconnect(), 5000);
    const [workers, snapshot] = await Promise.all([liveWorkers(redis), queueSnapshot(redis)]);
    clearTimeout(timeout);
    if (json) {
      console.log(JSON.stringify({ workers, ...snapshot }, null, 2));
      return 0;
    }
    console.log(`workers: ${workers.length}`);
    for (const w of workers) {
      const up = Math.round((Date.now() - w.startedAt) / 1000);
      const work = `${w.completed} done, ${w.failed} failed, ${w.cacheHits} cache hits`;
      console.log(`  ${w.id} ${w.device} up ${up}s: ${work}`);
    }
    const c = snapshot.counts;
    console.log(`queue: ${c.waiting} waiting, ${c.active} running, ${c.delayed} delayed, ${c.failed} failed`);
    for (const f of snapshot.failures) {
      console.log(`  failed ${f.id} at ${new Date(f.at).toISOString()}: ${f.reason}`);
    }
    return 0;
  } catch (error) {
    console.error(`minigpt-bot status: cannot read ${url} (${(error as Error).message})`);
    return EXIT_FAILED;
  } finally {
    redis.disconnect();
  }
}
