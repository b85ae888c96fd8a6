import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobTimes } from './redis.ts';

/** A gateway's view of the workers, registered beside the bot's own metrics. */
export class QueueMetrics {
  readonly wait: Histogram;
  readonly run: Histogram;
  readonly jobs: Counter<'worker' | 'vision'>;
  readonly workers: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];
    const help = {
      wait: 'From enqueue to a worker taking the job.',
      run: 'From a worker taking the job to its answer.',
    };
    this.wait = new Histogram({ name: 'minigpt_job_wait_seconds', help: help.wait, buckets, registers });
    this.run = new Histogram({ name: 'minigpt_job_run_seconds', help: help.run, buckets, registers });
    this.jobs = new Counter({
      name: 'minigpt_jobs_total',
      help: 'Answered jobs by worker, and whether the vision model ran (vision="cached": the cache was hit).',
      labelNames: ['worker', 'vision'] as const,
      registers,
    });
    this.workers = new Gauge({ name: 'minigpt_workers_live', help: 'Workers whose heartbeat is current.', registers });
  }

  observe(times: JobTimes, visionCached: boolean): void {
    this.wait.observe(times.waitedMs / 1000);
    this.run.observe(times.ranMs / 1000);
    this.jobs.inc({ worker: times.worker, vision: visionCached ? 'cached' : 'ran' });
  }
}
