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
  /** Where a missing execution provider is reported; default console.warn. */
  warn?: (line: string) => void;
}

/** Conversations decoded together by default: past this, total throughput on a CPU grows little. */
export const DEFAULT_MAX_BATCH = 16;

/** How long `abort` waits for the onnxruntime call under way (one decoder step or one prefill) to return. */
const ABORT_WAIT_MS = 10_000;

/** Conversations whose image hash the engine remembers sending, when no maxConversations is given. */
const DEFAULT_HELD = 1000;

interface Pending {
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  onText?: (text: string) => void;
  /** The same request with the image's bytes, posted when the worker answers that it lacks the image. */
  withImage?: ToWorker;
}

/**
 * MiniGPT-v2 behind a worker thread, so tensors never block the caller's event loop. Requests start in arrival
 * order and up to `maxBatch` of them are decoded together, so a short answer may finish before a longer one
 * asked earlier; each carries its image and history as plain data, and the worker reuses what it cached for
 * the conversation (image embeddings, KV) when it still matches.
 */
export class Engine {
  private readonly pending = new Map<number, Pending>();
  /** The image hash the worker was last sent per conversation, so its bytes cross over once (most recent last). */
  private readonly held = new Map<string, string>();
  /** How many times an image's bytes were posted to the worker (each turn on a held image posts only its hash). */
  imagesSent = 0;
  private nextId = 1;
  private dead: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly model: ModelInfo,
    /** The execution provider in use, after any fallback to the CPU. */
    readonly device: Device,
    /** Requests answered at once (the batch); more wait their turn inside the engine. */
    readonly capacity: number,
    private readonly maxHeld: number,
  ) {
    worker.on('message', (m: FromWorker) => this.receive(m));
    worker.on('error', (err) => this.shutDown(new Error(`inference worker crashed: ${err.message}`)));
    worker.on('exit', () => this.shutDown(new Error('inference worker stopped')));
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
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: init });
    const warn = options.warn ?? console.warn;
    const loaded = await new Promise<Device>((resolve, reject) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type === 'warn') warn(m.line);
        if (m.type === 'ready') resolve(m.device);
        if (m.type === 'failed') reject(new ModelLoadError(`cannot load the model in ${modelDir}: ${m.message}`));
        if (m.type === 'ready' || m.type === 'failed') worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => {
        reject(new ModelLoadError(`the inference worker stopped while loading ${modelDir} (exit code ${code})`));
      });
    });
    return new Engine(worker, model, loaded, maxBatch, maxConversations ?? DEFAULT_HELD);
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
    if (!this.dead) this.worker.postMessage({ type: 'forget', conversation } satisfies ToWorker);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.call((id) => ({ first: { type: 'close', id } }));
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
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: never) => void, reject, onText, withImage });
      this.worker.postMessage(first);
    });
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
      this.worker.postMessage(waiter.withImage);
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
