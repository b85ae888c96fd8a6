import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { keys, QUEUE_NAME, type WorkerBeat, workerQueue } from './redis.ts';

/** The workers whose heartbeat has not expired. */
export async function liveWorkers(redis: Redis): Promise<WorkerBeat[]> {
  const beats: WorkerBeat[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', keys.workerPattern, 'COUNT', 200);
    cursor = next;
    const texts = found.length > 0 ? await redis.mget(...found) : [];
    for (const text of texts) if (text) beats.push(JSON.parse(text) as WorkerBeat);
  } while (cursor !== '0');
  return beats.sort((a, b) => a.id.localeCompare(b.id));
}

export interface QueueSnapshot {
  counts: Record<string, number>;
  failures: { id: string; reason: string; at: number }[];
}

const STATES = ['waiting', 'active', 'completed', 'failed', 'delayed'] as const;

/** Jobs by state and the latest failures over the shared queue and every worker's own, read from the queues. */
export async function queueSnapshot(redis: Redis, recentFailures = 5): Promise<QueueSnapshot> {
  const names = [QUEUE_NAME, ...(await redis.smembers(keys.workerIds)).map(workerQueue)];
  const counts: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
  const failures: QueueSnapshot['failures'] = [];
  for (const name of names) {
    const queue = new Queue(name, { connection: redis });
    try {
      const byState = await queue.getJobCounts(...STATES);
      for (const [state, n] of Object.entries(byState)) counts[state] = (counts[state] ?? 0) + n;
      for (const job of await queue.getFailed(0, recentFailures - 1)) {
        failures.push({ id: job.id ?? '', reason: job.failedReason, at: job.finishedOn ?? 0 });
      }
    } finally {
      await queue.close();
    }
  }
  return { counts, failures: failures.sort((a, b) => b.at - a.at).slice(0, recentFailures) };
}
