import { parentPort, workerData } from 'node:worker_threads';
import { InputError } from './errors.ts';
import type { GenerationTask } from './generation-task.ts';
import { InferenceCore } from './inference-core.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts';
import type { GenerateRequest } from './types.ts';

/** Generations stepped in turn; one at a time for now, the queue is where batched decoding would plug in. */
const MAX_ACTIVE_GENERATIONS = 1;

interface Job {
  id: number;
  request: GenerateRequest;
  stream: boolean;
}

const port = parentPort!;
const post = (message: FromWorker): void => port.postMessage(message);

function fail(id: number, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  post({ type: 'error', id, message, inputError: err instanceof InputError });
}

const init = workerData as WorkerInit;
let core: InferenceCore;
try {
  core = await InferenceCore.load(init.modelDir, { ...init, warn: (line) => post({ type: 'warn', line }) });
  post({ type: 'ready', device: core.sessions.device });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
  process.exit(1);
}

const waiting: Job[] = [];
const active: { job: Job; task: GenerationTask }[] = [];
let pumping = false;
/** Set by 'close': the sessions are released once the work already accepted is done. */
let closeRequest: number | undefined;

async function admit(job: Job): Promise<void> {
  const onText = job.stream ? (text: string) => post({ type: 'text', id: job.id, text }) : undefined;
  try {
    active.push({ job, task: await core.start(job.request, onText) });
  } catch (err) {
    fail(job.id, err);
  }
}

/** Runs until no work is left: admits waiting jobs up to the limit, then gives each active one a step. */
async function pump(): Promise<void> {
  if (pumping) return;
  pumping = true;
  while (waiting.length > 0 || active.length > 0) {
    while (active.length < MAX_ACTIVE_GENERATIONS && waiting.length > 0) await admit(waiting.shift()!);
    for (const entry of [...active]) {
      try {
        if (!(await entry.task.step())) continue;
        post({ type: 'result', id: entry.job.id, result: entry.task.result() });
      } catch (err) {
        fail(entry.job.id, err);
      }
      active.splice(active.indexOf(entry), 1);
    }
  }
  pumping = false;
  if (closeRequest !== undefined) shutDown(closeRequest);
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
      post({ type: 'counters', id: message.id, counters: { ...core.counters } });
      break;
    case 'forget':
      core.forget(message.conversation);
      break;
    case 'close':
      closeRequest = message.id;
      if (!pumping) shutDown(message.id);
      break;
  }
});
