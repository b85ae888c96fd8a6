import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { keys, QUEUE_NAME, type WorkerBeat } from './redis.ts';

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

/** Jobs by state and the latest failures, read from the queue itself. */
export async function queueSnapshot(queue: Queue, recentFailures = 5): Promise<QueueSnapshot> {
  const counts = await queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  const failed = await queue.getFailed(0, recentFailures - 1);
  const failures = failed.map((job) => ({ id: job.id ?? '', reason: job.failedReason, at: job.finishedOn ?? 0 }));
  return { counts, failures };
}

export function openQueue(connection: Redis): Queue {
  return new Queue(QUEUE_NAME, { connection });
}
