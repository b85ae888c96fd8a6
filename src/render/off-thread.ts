import { Worker } from 'node:worker_threads';
import type { Entity } from '../grounding/types.ts';
import type { AnnotateOptions, AnnotatedImage } from './annotate.ts';
import type { AnnotateDone, AnnotateJob } from './annotate-worker.ts';

interface Waiter {
  resolve: (image: AnnotatedImage) => void;
  reject: (err: Error) => void;
}

/** An idle drawing thread is ended after this long, and with it the memory its last images held. */
const IDLE_MS = 30_000;

let worker: Worker | undefined;
const waiting = new Map<number, Waiter>();
let nextId = 1;
let idle: NodeJS.Timeout | undefined;

/** The drawing thread, started on first use; it holds the process open only while it has work, and ends when idle. */
function thread(): Worker {
  if (worker) return worker;
  const started = new Worker(new URL('./annotate-bootstrap.mjs', import.meta.url));
  started.on('message', (done: AnnotateDone) => {
    const waiter = waiting.get(done.id);
    waiting.delete(done.id);
    if (waiting.size === 0) {
      started.unref();
      idle = setTimeout(() => void started.terminate(), IDLE_MS).unref();
    }
    if ('error' in done) waiter?.reject(new Error(done.error));
    else waiter?.resolve(done.image);
  });
  const fail = (err: Error): void => {
    if (worker === started) worker = undefined;
    for (const waiter of waiting.values()) waiter.reject(err);
    waiting.clear();
  };
  started.on('error', fail);
  started.on('exit', (code) => fail(new Error(`the drawing thread stopped (exit code ${code})`)));
  worker = started;
  return started;
}

/**
 * `annotate` in a worker thread: decoding, drawing and encoding a large image take seconds, which on the main
 * thread would stall every chat connection (and miss the platforms' acknowledgement deadlines). One thread, jobs
 * in order; a thread that crashes fails its jobs and is replaced on the next call.
 */
export function annotateOffThread(
  image: Uint8Array,
  entities: readonly Entity[],
  options: AnnotateOptions,
): Promise<AnnotatedImage> {
  const id = nextId++;
  clearTimeout(idle);
  const target = thread();
  target.ref();
  return new Promise<AnnotatedImage>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    target.postMessage({ id, image, entities, options } satisfies AnnotateJob);
  });
}
