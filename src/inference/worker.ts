import { parentPort, workerData } from 'node:worker_threads';
import { ImageNeededError, InputError } from './errors.ts';
import type { GenerationTask } from './generation-task.ts';
import { InferenceCore } from './inference-core.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts';
import type { CoreRequest } from './types.ts';

interface Job {
  id: number;
  request: CoreRequest;
  stream: boolean;
}

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

function fail(id: number, err: unknown): void {
  if (err instanceof ImageNeededError) {
    post({ type: 'need-image', id });
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  const input = err instanceof InputError ? { problem: err.problem, context: err.context } : undefined;
  post({ type: 'error', id, message, input });
}

const init = workerData as WorkerInit;
let core: InferenceCore;
try {
  core = await InferenceCore.load(init.modelDir, { ...init, warn: (line) => post({ type: 'warn', line }) });
  post({ type: 'ready', device: core.device });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
  process.exit(1);
}

const waiting: Job[] = [];
// The plain layout shares decoder calls between conversations; the in-place one decodes each on its own.
const batch = core.scheduler();
const jobs = new Map<GenerationTask, Job>();
let pumping = false;
/** Set by 'close': the sessions are released once the work already accepted is done. */
let closeRequest: number | undefined;
/** Set by 'abort': the work in progress is dropped once the onnxruntime call under way returns. */
let aborted = false;

/** Prefills a waiting job and lets it join the batch (or answers it at once when its first token ends it). */
async function admit(job: Job): Promise<void> {
  const onText = job.stream ? (text: string) => post({ type: 'text', id: job.id, text }) : undefined;
  try {
    const task = await core.start(job.request, onText);
    if (task.done) {
      post({ type: 'result', id: job.id, result: task.result() });
      return;
    }
    jobs.set(task, job);
    batch.add(task);
  } catch (err) {
    fail(job.id, err);
  }
}

/**
 * Runs until no work is left. Each round admits at most one waiting job, then gives every conversation in the
 * batch one token in one decoder call: a newcomer's prefill delays the others by one prefill only, and every
 * admitted conversation advances every round, so none starves; waiting jobs are admitted in arrival order.
 */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  while (!aborted && (waiting.length > 0 || batch.size > 0)) {
    if (waiting.length > 0 && batch.size < init.maxBatch) await admit(waiting.shift()!);
    if (batch.size === 0) continue;
    try {
      for (const task of await batch.step()) finish(task, () => post({ type: 'result', id: jobs.get(task)!.id, result: task.result() }));
    } catch (err) {
      for (const task of batch.tasks) {
        task.abandon();
        finish(task, () => fail(jobs.get(task)!.id, err));
      }
      batch.clear();
    }
  }
  if (aborted) {
    for (const task of batch.tasks) task.abandon();
    batch.clear();
    jobs.clear();
  }
  pumping = false;
  if (closeRequest !== undefined) shutDown(closeRequest);
}

function finish(task: GenerationTask, answer: () => void): void {
  answer();
  jobs.delete(task);
}

function shutDown(id: number): void {
  void core.close().finally(() => {
    post({ type: 'closed', id });
    port.close();
  });
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'generate':
      if (closeRequest !== undefined) {
        fail(message.id, new Error('the engine is closing'));
        break;
      }
      waiting.push({ id: message.id, request: message.request, stream: message.stream });
      void pump();
      break;
    case 'counters':
      post({ type: 'counters', id: message.id, counters: core.snapshot() });
      break;
    case 'forget':
      core.forget(message.conversation);
      break;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: the rest of an abort is a close
    case 'abort':
      // The engine has already told the callers. A run in progress must return before the sessions are
      // released: ending the thread under it makes onnxruntime abort the whole process.
      aborted = true;
      waiting.length = 0;
    case 'close':
      closeRequest = message.id;
      if (!pumping) shutDown(message.id);
      break;
  }
});
