import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { InputError, ModelLoadError } from './errors.ts';
import { type ModelInfo, readModelInfo } from './model-config.ts';
import type { Device } from './sessions.ts';
import type { EngineCounters, GenerateRequest, GenerateResult } from './types.ts';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts';

export interface EngineOptions {
  device?: Device;
  /** onnxruntime intra-op threads; default: every available core. */
  threads?: number;
  /**
   * Conversations whose image embeddings and KV cache are kept between turns, least recently used dropped first
   * (default 4: a 7B conversation of 2,000 positions holds 2 GiB of fp32 cache).
   */
  maxConversations?: number;
  /**
   * Conversations whose decode steps share one decoder call (default 16); 1 answers one request at a time.
   * Batching raises total throughput whenever several conversations are answered at once. It is the engine's
   * capacity: how many requests it answers at once.
   */
  maxBatch?: number;
  /** Larger images are refused before they are decoded; sharp's own limit (268 megapixels) when unset. */
  maxImagePixels?: number;
  /** Where a missing execution provider, or a worker that crashed and is replaced, is reported; default console.warn. */
  warn?: (line: string) => void;
  /**
   * Called once if the engine stops answering for good on its own: its worker crashed more than 3 times in 10
   * minutes, or the one started in place of a crashed one could not load the model. Not called on close or abort.
   */
  onFailed?: (reason: Error) => void;
}

/** Conversations decoded together by default: past this, total throughput on a CPU grows little. */
export const DEFAULT_MAX_BATCH = 16;

/** How long `abort` waits for the onnxruntime call under way (one decoder step or one prefill) to return. */
const ABORT_WAIT_MS = 10_000;

/** Conversations whose image hash the engine remembers sending, when no maxConversations is given. */
const DEFAULT_HELD = 1000;

/**
 * A worker that crashes is replaced, at most this many times in `REPLACE_WINDOW_MS`: past that the fault is not
 * passing (a broken model file, a machine out of memory) and the engine stops, which its health check reports.
 */
const MAX_REPLACEMENTS = 3;
const REPLACE_WINDOW_MS = 10 * 60_000;

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  onText?: (text: string) => void;
  /** The same request with the image's bytes, posted when the worker answers that it lacks the image. */
  withImage?: ToWorker;
  /** A question's whole request, image included: what a replacement worker is given when this one crashes. */
  replay?: ToWorker;
  /** Whether the request already outlived one worker that crashed: a second crash fails it (it may be the cause). */
  retried: boolean;
}

/** Starts the worker thread and waits for its model to load; the device is the one in use after any fallback. */
async function startWorker(init: WorkerInit, warn: (line: string) => void): Promise<{ worker: Worker; device: Device }> {
  const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: init });
  const device = await new Promise<Device>((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      if (m.type === 'warn') warn(m.line);
      if (m.type === 'ready') resolve(m.device);
      if (m.type === 'failed') reject(new ModelLoadError(`cannot load the model in ${init.modelDir}: ${m.message}`));
      if (m.type === 'ready' || m.type === 'failed') worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new ModelLoadError(`the inference worker stopped while loading ${init.modelDir} (exit code ${code})`));
    });
  });
  worker.removeAllListeners('error').removeAllListeners('exit');
  return { worker, device };
}

/**
 * MiniGPT-v2 behind a worker thread, so tensors never block the caller's event loop. Requests start in arrival
 * order and up to `maxBatch` of them are decoded together, so a short answer may finish before a longer one
 * asked earlier; each carries its image and history as plain data, and the worker reuses what it cached for
 * the conversation (image embeddings, KV) when it still matches. A worker that crashes is replaced by a new one,
 * which loads the model again and answers the questions in progress from the start (each once).
 */
export class Engine {
  private readonly pending = new Map<number, Pending>();
  /** The image hash the worker was last sent per conversation, so its bytes cross over once (most recent last). */
  private readonly held = new Map<string, string>();
  /** How many times an image's bytes were posted to the worker (each turn on a held image posts only its hash). */
  imagesSent = 0;
  /** Workers started in place of one that crashed. */
  replacements = 0;
  private readonly replacedAt: number[] = [];
  private nextId = 1;
  private dead: Error | undefined;
  /** Messages held while a replacement worker loads the model. */
  private backlog: ToWorker[] | undefined;

  private constructor(
    private worker: Worker,
    readonly model: ModelInfo,
    /** The execution provider in use, after any fallback to the CPU. */
    readonly device: Device,
    /** Requests answered at once (the batch); more wait their turn inside the engine. */
    readonly capacity: number,
    private readonly maxHeld: number,
    private readonly init: WorkerInit,
    private readonly warn: (line: string) => void,
    private readonly onFailed: (reason: Error) => void,
  ) {
    this.attach(worker);
  }

  static async load(modelDir: string, options: EngineOptions = {}): Promise<Engine> {
    if (options.maxBatch !== undefined && !(Number.isInteger(options.maxBatch) && options.maxBatch >= 1)) {
      throw new Error(`maxBatch must be a whole number of at least 1, not ${options.maxBatch}`);
    }
    const model = await readModelInfo(modelDir).catch((err: Error) => {
      throw new ModelLoadError(err.message);
    });
    const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    const { device, threads, maxConversations, maxImagePixels } = options;
    const init: WorkerInit = { modelDir, device, threads, maxConversations, maxBatch, maxImagePixels };
    const warn = options.warn ?? console.warn;
    const { worker, device: loaded } = await startWorker(init, warn);
    const onFailed = options.onFailed ?? (() => undefined);
    return new Engine(worker, model, loaded, maxBatch, maxConversations ?? DEFAULT_HELD, init, warn, onFailed);
  }

  /** False once the worker has stopped or crashed (the health endpoint reports it). */
  get alive(): boolean {
    return this.dead === undefined;
  }

  /**
   * Answers one question; `onText` gets the raw text so far (box tokens included) as tokens arrive. The image
   * goes to the worker by hash, its bytes only the first time (or again when the worker has dropped it).
   */
  generate(request: GenerateRequest, onText?: (textSoFar: string) => void): Promise<GenerateResult> {
    const imageHash = request.imageHash ?? createHash('sha256').update(request.image).digest('hex');
    const stream = onText !== undefined;
    const { image, ...rest } = request;
    const byHash = { ...rest, imageHash };
    const held = this.held.get(request.conversation) === imageHash;
    this.hold(request.conversation, imageHash);
    if (!held) this.imagesSent++;
    return this.call((id) => {
      const withImage: ToWorker = { type: 'generate', id, request: { ...byHash, image }, stream };
      return held ? { first: { type: 'generate', id, request: byHash, stream }, withImage } : { first: withImage };
    }, onText);
  }

  private hold(conversation: string, imageHash: string): void {
    this.held.delete(conversation);
    this.held.set(conversation, imageHash);
    const oldest = this.held.keys().next();
    if (this.held.size > this.maxHeld && !oldest.done) this.held.delete(oldest.value);
  }

  counters(): Promise<EngineCounters> {
    return this.call((id) => ({ first: { type: 'counters', id } }));
  }

  /** Drops a conversation's cached image and KV (the next request on it starts cold). */
  forget(conversation: string): void {
    this.held.delete(conversation);
    if (!this.dead) this.post({ type: 'forget', conversation });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.call((id) => ({ first: { type: 'close', id } }));
    this.shutDown(new Error('the engine was stopped'));
    await this.worker.terminate();
  }

  /**
   * Abandons the work in progress (its callers get an error at once) and stops the worker as soon as the
   * onnxruntime call under way returns, or after `ABORT_WAIT_MS` at worst: for a shutdown whose grace period ran
   * out. `close` is the graceful way.
   */
  async abort(): Promise<void> {
    if (this.dead) return;
    const id = this.nextId++;
    this.shutDown(new Error('the engine was stopped'));
    if (this.backlog) return; // a replacement is loading: it is ended once loaded, and the crashed one is gone
    let timer: NodeJS.Timeout | undefined;
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (m: FromWorker) => m.type === 'closed' && m.id === id && resolve());
      this.worker.once('exit', () => resolve());
      timer = setTimeout(resolve, ABORT_WAIT_MS);
    });
    this.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
    await stopped;
    clearTimeout(timer);
    await this.worker.terminate();
  }

  private call<T>(
    messages: (id: number) => { first: ToWorker; withImage?: ToWorker },
    onText?: (text: string) => void,
  ): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const { first, withImage } = messages(id);
    const replay = first.type === 'generate' ? (withImage ?? first) : undefined;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, onText, withImage, replay, retried: false });
      this.post(first);
    });
  }

  /** Posts to the worker, or holds the message while a replacement loads. */
  private post(message: ToWorker): void {
    if (this.backlog) this.backlog.push(message);
    else this.worker.postMessage(message);
  }

  /**
   * Listens to `worker` while it is the engine's: a crash (an error thrown in it, or its end; an error is followed
   * by the end) replaces it, once.
   */
  private attach(worker: Worker): void {
    let crashed = false;
    const mine = (): boolean => worker === this.worker && !this.dead && !crashed;
    const crash = (reason: Error): void => {
      if (!mine()) return;
      crashed = true;
      void this.replace(reason);
    };
    worker.on('message', (m: FromWorker) => mine() && this.receive(m));
    worker.on('error', (err) => crash(new Error(`the inference worker crashed: ${err.message}`)));
    worker.on('exit', (code) => crash(new Error(`the inference worker stopped (exit code ${code})`)));
  }

  /**
   * Starts a new worker in place of one that crashed: it loads the model, then answers each question in
   * progress from the start (a question that already outlived one crash fails instead); counters and forgets
   * are not carried over. Too many crashes in a row, or a replacement that cannot load, stop the engine.
   */
  private async replace(reason: Error): Promise<void> {
    const crashed = this.worker;
    void crashed.terminate();
    const now = Date.now();
    this.replacedAt.push(now);
    while (this.replacedAt[0]! < now - REPLACE_WINDOW_MS) this.replacedAt.shift();
    if (this.replacedAt.length > MAX_REPLACEMENTS) {
      this.fail(new Error(`${reason.message}, ${MAX_REPLACEMENTS + 1} times in ${REPLACE_WINDOW_MS / 60_000} minutes`));
      return;
    }
    this.held.clear();
    this.backlog = [];
    for (const [id, waiter] of this.pending) {
      if (waiter.replay && !waiter.retried) {
        waiter.retried = true;
        waiter.withImage = undefined;
        this.backlog.push(waiter.replay);
      } else {
        this.pending.delete(id);
        waiter.reject(reason);
      }
    }
    const again = this.backlog.length;
    const questions = again === 1 ? '1 question' : `${again} questions`;
    this.warn(`${reason.message}; starting a new one, which answers the ${questions} in progress again`);
    try {
      const { worker } = await startWorker(this.init, this.warn);
      if (this.dead) {
        await worker.terminate();
        return;
      }
      this.worker = worker;
      this.attach(worker);
      this.replacements++;
      const backlog = this.backlog;
      this.backlog = undefined;
      for (const message of backlog) worker.postMessage(message);
    } catch (err) {
      this.backlog = undefined;
      this.fail(new Error(`${reason.message}, and the one started in its place failed: ${(err as Error).message}`));
    }
  }

  /** Stops for good after crashes: what was asked fails with `reason`, and whoever runs the engine is told. */
  private fail(reason: Error): void {
    if (this.dead) return;
    this.shutDown(reason);
    this.onFailed(reason);
  }

  private receive(m: FromWorker): void {
    if (!('id' in m)) return;
    const waiter = this.pending.get(m.id);
    if (!waiter) return;
    if (m.type === 'text') {
      waiter.onText?.(m.text);
      return;
    }
    if (m.type === 'need-image' && waiter.withImage) {
      this.imagesSent++;
      this.post(waiter.withImage);
      waiter.withImage = undefined;
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'error') {
      waiter.reject(m.input ? new InputError(m.input.problem, m.input.context) : new Error(m.message));
    }
    else if (m.type === 'result') waiter.resolve(m.result as never);
    else if (m.type === 'counters') waiter.resolve(m.counters as never);
    else if (m.type === 'closed') waiter.resolve(undefined as never);
    else if (m.type === 'need-image') waiter.reject(new Error('the inference worker lost an image it was sent'));
  }

  private shutDown(reason: Error): void {
    this.dead ??= reason;
    for (const waiter of this.pending.values()) waiter.reject(reason);
    this.pending.clear();
  }
}
