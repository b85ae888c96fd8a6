import { Worker } from 'node:worker_threads';
import type { Entity } from '../grounding/types.ts';
import type { AnnotateOptions, AnnotatedImage } from './annotate.ts';
import type { AnnotateDone, AnnotateJob } from './annotate-worker.ts';

/** An idle drawing thread is ended after this long, and with it the memory its last images held. */
const IDLE_MS = 30_000;

interface Waiter {
  job: AnnotateJob;
  /** Whether the job already outlived one thread that crashed: a second crash fails it (it may be the cause). */
  retried: boolean;
  resolve: (image: AnnotatedImage) => void;
  reject: (err: Error) => void;
}

/** One drawing thread and the jobs it owes answers for. */
interface DrawingThread {
  worker: Worker;
  waiting: Map<number, Waiter>;
  idle?: NodeJS.Timeout;
}

let current: DrawingThread | undefined;
let nextId = 1;

/**
 * The drawing thread, started on first use. It holds the process open only while it has work, and ends once idle
 * for `IDLE_MS`; a thread that is ending or has crashed takes no new jobs (the next call starts another).
 */
function thread(): DrawingThread {
  if (current) return current;
  const worker = new Worker(new URL('./annotate-bootstrap.mjs', import.meta.url));
  const started: DrawingThread = { worker, waiting: new Map() };
  const retire = (): void => {
    if (current === started) current = undefined;
  };
  started.worker.on('message', (done: AnnotateDone) => {
    const waiter = started.waiting.get(done.id);
    started.waiting.delete(done.id);
    if (started.waiting.size === 0) {
      started.worker.unref();
      started.idle = setTimeout(() => {
        retire();
        void started.worker.terminate();
      }, IDLE_MS).unref();
    }
    if ('error' in done) waiter?.reject(new Error(done.error));
    else waiter?.resolve(done.image);
  });
  // A thread that crashed hands its jobs to a new one, once each; one that ended idle has none.
  const fail = (err: Error): void => {
    retire();
    const orphans = [...started.waiting.values()];
    started.waiting.clear();
    for (const waiter of orphans) {
      if (waiter.retried) waiter.reject(err);
      else submit({ ...waiter, retried: true });
    }
  };
  started.worker.on('error', fail);
  started.worker.on('exit', (code) => fail(new Error(`the drawing thread stopped (exit code ${code})`)));
  current = started;
  return started;
}

function submit(waiter: Waiter): void {
  const target = thread();
  clearTimeout(target.idle);
  target.worker.ref();
  target.waiting.set(waiter.job.id, waiter);
  target.worker.postMessage(waiter.job);
}

/**
 * `annotate` in a worker thread: decoding, drawing and encoding a large image take seconds, which on the main
 * thread would stall every chat connection (and miss the platforms' acknowledgement deadlines). One thread, jobs
 * in order; a thread that crashes is replaced and its jobs are drawn again by the new one (a job whose second
 * thread crashes too fails).
 */
export function annotateOffThread(
  image: Uint8Array,
  entities: readonly Entity[],
  options: AnnotateOptions,
): Promise<AnnotatedImage> {
  const job: AnnotateJob = { id: nextId++, image, entities, options };
  return new Promise<AnnotatedImage>((resolve, reject) => submit({ job, retried: false, resolve, reject }));
}
