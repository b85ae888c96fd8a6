import { createHash } from 'node:crypto';
import type * as ort from 'onnxruntime-node';
import type { DecodeScheduler, DecoderDriver, DecoderOutput } from './decoder/driver.ts';
import { imageEmbedsOf, visionFeeds } from './decoder/graph-io.ts';
import { loadDecoder } from './decoder/load.ts';
import { ImageNeededError, InputError } from './errors.ts';
import { GenerationTask, type RunFlag, type TaskHost } from './generation-task.ts';
import { ConversationCache, type ConversationState, commonPrefixLength, imageSlots } from './kv-cache.ts';
import { generationConfig, type ModelInfo, readModelInfo } from './model-config.ts';
import { preprocessImage } from './preprocess.ts';
import { buildPrompt } from './prompt.ts';
import { type Device, ModelSessions, type SessionOptions } from './sessions.ts';
import { PromptTokenizer } from './tokenizer.ts';
import type { CoreRequest, EngineCounters } from './types.ts';

export interface CoreOptions extends SessionOptions {
  /** How many conversations keep their KV cache (least recently used dropped first). */
  maxConversations?: number;
  /** Larger images are refused before decoding; sharp's own limit when unset. */
  maxImagePixels?: number;
  warn?: (line: string) => void;
}

const elapsed = (since: number): number => performance.now() - since;

/** The model in one thread: sessions, tokenizer, per-conversation caches; hands out generation tasks. */
export class InferenceCore {
  private readonly counters: Omit<EngineCounters, 'cacheBuffers'> = {
    visionRuns: 0,
    prefillTokens: 0,
    decodeSteps: 0,
    decodeCalls: 0,
    cacheHits: 0,
  };
  private readonly cache: ConversationCache;
  private readonly maxImagePixels: number | undefined;
  /** Conversations with a generation under way, so that forgetting one also stops its task from caching. */
  private readonly running = new Map<string, RunFlag>();
  /** All a generation task sees of the core. */
  private readonly host: TaskHost;

  private constructor(
    readonly model: ModelInfo,
    private readonly tokenizer: PromptTokenizer,
    private readonly sessions: ModelSessions,
    /** Drives embed_tokens.onnx and decoder.onnx in the layout the model directory has. */
    private readonly decoder: DecoderDriver,
    options: CoreOptions,
  ) {
    this.maxImagePixels = options.maxImagePixels;
    this.cache = new ConversationCache(options.maxConversations, (state) => this.decoder.discard(state.kv));
    this.host = {
      eos: model.tokens.eos,
      decodeOne: async (token, kv, pastLength) => {
        const out = await decoder.step(await decoder.embed([token]), 1, kv, pastLength);
        this.counters.decodeCalls++;
        return out;
      },
      countStep: () => {
        this.counters.decodeSteps++;
      },
      decode: (ids) => tokenizer.decode(ids),
      remember: (key, state, run) => this.remember(key, state, run),
      abandon: (key, kv, run) => this.abandon(key, kv, run),
    };
  }

  /** The execution provider in use, after any fallback to the CPU. */
  get device(): Device {
    return this.sessions.device;
  }

  /** How several generations are advanced together in this decoder layout (one shared call, or one call each). */
  scheduler(): DecodeScheduler<GenerationTask> {
    return this.decoder.scheduler(this.counters);
  }

  /** The counters now, with the cache buffers the decoder holds. */
  snapshot(): EngineCounters {
    return { ...this.counters, cacheBuffers: this.decoder.buffersHeld };
  }

  static async load(modelDir: string, options: CoreOptions = {}): Promise<InferenceCore> {
    const model = await readModelInfo(modelDir);
    const [tokenizer, sessions] = await Promise.all([PromptTokenizer.load(modelDir), ModelSessions.create(modelDir, options, options.warn)]);
    const decoder = await loadDecoder(sessions, model);
    return new InferenceCore(model, tokenizer, sessions, decoder, options);
  }

  /** pixel_values [3, S, S] → image embeddings [N, D]. */
  async encodeImage(pixelValues: Float32Array): Promise<Float32Array> {
    const size = this.model.vision.image_size;
    const out = await this.sessions.run('vision', visionFeeds(pixelValues, size));
    this.counters.visionRuns++;
    return imageEmbedsOf(out);
  }

  /** Image embeddings for the conversation: the cached ones when the image is the same, else a fresh start. */
  private async conversationFor(
    request: CoreRequest,
    imageHash: string,
    timings: { preprocessMs: number; visionMs: number },
  ): Promise<{ state: ConversationState; cached: boolean }> {
    const known = this.cache.get(request.conversation);
    if (known && known.imageHash === imageHash) {
      this.counters.cacheHits++;
      return { state: known, cached: true };
    }
    let t = performance.now();
    const { vision } = this.model;
    const norm = { size: vision.image_size, mean: vision.mean, std: vision.std };
    const image = await preprocessImage(request.image!, norm, this.maxImagePixels);
    timings.preprocessMs = elapsed(t);
    t = performance.now();
    const imageEmbeds = await this.encodeImage(image.pixelValues);
    timings.visionMs = elapsed(t);
    const kv = await this.decoder.fresh(known?.kv);
    const state = { imageHash, imageEmbeds, imageSize: { width: image.width, height: image.height }, sequence: [], kv };
    return { state, cached: false };
  }

  /** Embeddings for `positions`: token ids through embed_tokens, image slots from the image embeddings. */
  private async embedPositions(positions: number[], imageEmbeds: Float32Array): Promise<Float32Array> {
    const D = this.model.llm.hidden_size;
    const ids = positions.filter((p) => p >= 0);
    const tokenEmbeds = ids.length > 0 ? await this.decoder.embed(ids) : new Float32Array(0);
    const out = new Float32Array(positions.length * D);
    let token = 0;
    positions.forEach((p, i) => {
      const row = p >= 0 ? token++ : -p - 1;
      const source = p >= 0 ? tokenEmbeds : imageEmbeds;
      out.set(source.subarray(row * D, (row + 1) * D), i * D);
    });
    return out;
  }

  /**
   * Prepares a generation: vision only for a new image, then a prefill of the positions the conversation's KV
   * does not already hold (the longest common prefix is kept, the rest recomputed), and the first token.
   */
  async start(request: CoreRequest, onText?: (text: string) => void): Promise<GenerationTask> {
    const began = performance.now();
    const config = generationConfig(this.model, request.generation);
    const limit = this.decoder.positions;
    // Checked before the conversation is looked up: a refused request must not take cache buffers.
    const sequence = this.fittedSequence(request, limit - Math.min(config.maxNewTokens, limit - 1));
    if (sequence.length >= limit) {
      throw new InputError('conversation-too-long', { used: sequence.length, limit });
    }
    const imageHash = request.imageHash ?? createHash('sha256').update(request.image ?? new Uint8Array()).digest('hex');
    if (!request.image && this.cache.peek(request.conversation)?.imageHash !== imageHash) throw new ImageNeededError();
    const run = this.markRunning(request.conversation);
    const timings = { preprocessMs: 0, visionMs: 0 };
    const { state, cached } = await this.conversationFor(request, imageHash, timings);
    // Keep at least one position to recompute: its logits choose the first new token.
    const past = await this.decoder.resume(state, Math.min(commonPrefixLength(state.sequence, sequence), sequence.length - 1));
    const rest = sequence.slice(past.length);
    const t = performance.now();
    let first: DecoderOutput;
    try {
      first = await this.decoder.step(await this.embedPositions(rest, state.imageEmbeds), rest.length, past.kv, past.length);
    } catch (err) {
      this.abandon(request.conversation, past.kv, run);
      throw err;
    }
    this.counters.prefillTokens += rest.length;
    const conversation: ConversationState = { ...state, sequence, kv: first.kv };
    return new GenerationTask(this.host, request, conversation, first.logits, {
      ...timings,
      prefillMs: elapsed(t),
      prefillTokens: rest.length,
      began,
      visionCached: cached,
      config,
      limit,
      run,
      onText,
    });
  }

  /**
   * The prompt's positions, dropping the oldest turns until the prompt leaves `budget` positions free for the
   * answer; the image and the current question always stay (the question alone may still be too long).
   */
  private fittedSequence(request: CoreRequest, budget: number): number[] {
    const image = imageSlots(this.model.vision.tokens);
    for (let dropped = 0; ; dropped++) {
      const history = request.history.slice(dropped);
      const { seg0, seg1 } = buildPrompt(this.model, this.tokenizer, history, request.task, request.question);
      const sequence = [...seg0, ...image, ...seg1];
      if (sequence.length <= budget || history.length === 0) return sequence;
    }
  }

  private markRunning(key: string): RunFlag {
    const run = { forgotten: false };
    this.running.set(key, run);
    return run;
  }

  /** Called by a finished task: the conversation's KV now covers the answer too (unless forgotten meanwhile). */
  private remember(key: string, state: ConversationState, run: RunFlag): void {
    this.decoder.release(state.kv);
    if (run.forgotten) this.decoder.discard(state.kv);
    else this.cache.set(key, state);
    this.done(key, run);
  }

  /**
   * Called for a generation that failed or was dropped: `kv` may hold half-written positions, so the conversation
   * keeps no state in it (it starts again from its image next time).
   */
  private abandon(key: string, kv: ort.Tensor[], run: RunFlag): void {
    this.decoder.release(kv);
    if (this.cache.peek(key)?.kv === kv) this.cache.delete(key);
    else this.decoder.discard(kv);
    this.done(key, run);
  }

  private done(key: string, run: RunFlag): void {
    if (this.running.get(key) === run) this.running.delete(key);
  }

  forget(key: string): void {
    this.cache.delete(key);
    const run = this.running.get(key);
    if (run) run.forgotten = true;
  }

  async close(): Promise<void> {
    await this.decoder.close();
    await this.sessions.release();
  }
}
