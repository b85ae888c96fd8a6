import { existsSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueuePlaces } from '../src/scale/queue-places.ts';
import { REDIS_SERVER, startRedisServer, type RedisServer } from '../bench/redis-server.ts';

/**
 * Queue places on a real redis-server and BullMQ queue with no worker: every request of a gateway is told its
 * place, the places move up as jobs leave, and the gateway reads the waiting list once a second in all (not
 * once per waiting request), and not at all once nothing waits.
 */

const WAITING = 12;

describe.skipIf(!existsSync(REDIS_SERVER))('GIVEN questions waiting on a real BullMQ queue', () => {
  let redis: RedisServer;
  let client: Redis;
  let queue: Queue;

  beforeAll(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('places-test', { connection: client });
  });

  afterAll(async () => {
    await queue?.close();
    client?.disconnect();
    await redis?.stop();
  });

  /** Scripts Redis has run so far (BullMQ reads and writes queues through Lua scripts). */
  async function scriptCalls(): Promise<number> {
    const stats = await client.info('commandstats');
    return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  }

  async function until(check: () => boolean, what: string): Promise<void> {
    for (let tries = 0; !check(); tries++) {
      if (tries > 200) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('WHEN twelve requests wait THEN each is told its place, places move up as jobs leave, and one read a second serves them all until none waits', async () => {
    const places = new QueuePlaces();
    const told: number[][] = Array.from({ length: WAITING }, () => []);
    for (let k = 0; k < WAITING; k++) {
      await queue.add('generate', { k }, { jobId: `job-${k}` });
      places.watch(queue, `job-${k}`, (place) => told[k]!.push(place));
    }
    try {
      await until(() => told.every((t, k) => t.at(-1) === k + 1), 'every first place');

      const before = await scriptCalls();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // About one read a second for all twelve (a read per request would be twelve a second).
      expect((await scriptCalls()) - before).toBeLessThanOrEqual(5);

      await queue.remove('job-0');
      await queue.remove('job-1');
      await until(() => told.slice(2).every((t, k) => t.at(-1) === k + 1), 'the places to move up');
      expect(told[2]).toEqual([3, 1]);
      expect(told[0]).toEqual([1]); // left the queue: told nothing more

      for (let k = 2; k < WAITING; k++) await queue.remove(`job-${k}`);
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the read that finds the list empty
      const idle = await scriptCalls();
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await scriptCalls()) - idle).toBe(0);
    } finally {
      places.close();
    }
  }, 60_000);
});
