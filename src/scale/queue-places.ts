import type { Queue } from 'bullmq';

/** How often the waiting lists are read while a request of this gateway waits. */
const PLACE_POLL_MS = 1000;
/** Places are read among this many of the oldest waiting jobs; a job further back is told nothing yet. */
const PLACES_READ = 200;

interface Watcher {
  onQueued: (position: number) => void;
  /** The place told last (0: none yet). */
  told: number;
  /** The read that began after this watcher was added: one that began before may not see its job yet. */
  firstRead: number;
}

/**
 * Tells the requests of one gateway their places in the real queues (1: next), each time a place changes. One
 * timer reads each queue's waiting list once for all of them; a job that has left the list is no longer
 * watched, and the timer stops when no request waits.
 */
export class QueuePlaces {
  private readonly watched = new Map<string, { queue: Queue; jobs: Map<string, Watcher> }>();
  private timer: NodeJS.Timeout | undefined;
  /** Reads begun so far; a read does not begin while another is under way. */
  private reads = 0;
  private reading = false;

  /** Tells `jobId`'s place in `queue` from now on; the function returned stops it. */
  watch(queue: Queue, jobId: string, onQueued: (position: number) => void): () => void {
    let entry = this.watched.get(queue.name);
    if (!entry) {
      entry = { queue, jobs: new Map() };
      this.watched.set(queue.name, entry);
    }
    const watcher = { onQueued, told: 0, firstRead: this.reads + 1 };
    entry.jobs.set(jobId, watcher);
    if (!this.timer) {
      this.timer = setInterval(() => void this.read(), PLACE_POLL_MS);
      void this.read();
    }
    return () => {
      if (entry.jobs.get(jobId) === watcher) this.drop(queue.name, jobId);
    };
  }

  /** Stops telling places. */
  close(): void {
    this.watched.clear();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    const round = ++this.reads;
    try {
      await Promise.all([...this.watched].map(([name, { queue, jobs }]) => this.readQueue(name, queue, jobs, round)));
    } finally {
      this.reading = false;
    }
  }

  private async readQueue(name: string, queue: Queue, jobs: Map<string, Watcher>, round: number): Promise<void> {
    const ids = await queue.getRanges(['waiting'], 0, PLACES_READ - 1, true).catch(() => undefined);
    if (!ids) return;
    const places = new Map(ids.map((id, k) => [id, k + 1]));
    for (const [jobId, watcher] of jobs) {
      const place = places.get(jobId);
      if (place === undefined) {
        // Not among the oldest PLACES_READ: further back, or no longer waiting.
        if (ids.length < PLACES_READ && watcher.firstRead <= round) this.drop(name, jobId);
      } else if (place !== watcher.told) {
        watcher.told = place;
        watcher.onQueued(place);
      }
    }
  }

  private drop(name: string, jobId: string): void {
    const entry = this.watched.get(name);
    entry?.jobs.delete(jobId);
    if (entry?.jobs.size === 0) this.watched.delete(name);
    if (this.watched.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
