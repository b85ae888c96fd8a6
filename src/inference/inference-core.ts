import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { type DecoderDriver, embedTokens, PlainDecoder } from './decoder-step.ts';
import { ImageNeededError, InputError } from './errors.ts';
import { GenerationTask } from './generation-task.ts';
import { ConversationCache, type ConversationState, commonPrefixLength, imageSlots } from './kv-cache.ts';
import { generationConfig, type ModelInfo, readModelInfo } from './model-config.ts';
import { preprocessImage } from './preprocess.ts';
import { buildPrompt } from './prompt.ts';
import { ModelSessions, type SessionOptions } from './sessions.ts';
import { PromptTokenizer } from './tokenizer.ts';
import type { CoreRequest, EngineCounters } from './types.ts';
import { isWebGpuLayout, WebGpuDecoder } from './webgpu-decoder.ts';

export interface CoreOptions extends SessionOptions {
  /** How many conversations keep their KV cache (least recently used dropped first). */
  maxConversations?: number;
  /** Larger images are refused before decoding; sharp's own limit when unset. */
  maxImagePixels?: number;
  warn?: (line: string) => void;
}

export interface RunFlag {
  forgotten: boolean;
}

const elapsed = (since: number): number => performance.now() - since;

/** The model in one thread: sessions, tokenizer, per-conversation caches; hands out generation tasks. */
export class InferenceCore {
  readonly counters: Omit<EngineCounters, 'cacheBuffers'> = { visionRuns: 0, prefillTokens: 0, decodeSteps: 0, decodeCalls: 0, cacheHits: 0 };
  private readonly cache: ConversationCache;
  private readonly maxImagePixels: number | undefined;
  /** Conversations with a generation under way, so that forgetting one also stops its task from caching. */
  private readonly running = new Map<string, RunFlag>();

  private constructor(
    readonly model: ModelInfo,
    readonly tokenizer: PromptTokenizer,
    readonly sessions: ModelSessions,
    /** Drives decoder.onnx in the layout the model directory has (plain, or `--target webgpu`). */
    readonly decoder: DecoderDriver,
    options: CoreOptions,
  ) {
    this.maxImagePixels = options.maxImagePixels;
    this.cache = new ConversationCache(options.maxConversations, (state) => this.decoder.discard(state.kv));
  }

  /** The counters now, with the cache buffers the decoder holds. */
  snapshot(): EngineCounters {
    return { ...this.counters, cacheBuffers: this.decoder.buffersHeld };
  }

  static async load(modelDir: string, options: CoreOptions = {}): Promise<InferenceCore> {
    const model = await readModelInfo(modelDir);
    const [tokenizer, sessions] = await Promise.all([PromptTokenizer.load(modelDir), ModelSessions.create(modelDir, options, options.warn)]);
    const decoder = isWebGpuLayout(sessions) ? await WebGpuDecoder.create(sessions, model) : new PlainDecoder(sessions, model);
    return new InferenceCore(model, tokenizer, sessions, decoder, options);
  }

  /** pixel_values [3, S, S] → image embeddings [N, D]. */
  async encodeImage(pixelValues: Float32Array): Promise<Float32Array> {
    const size = this.model.vision.image_size;
    const out = await this.sessions.run('vision', { pixel_values: new ort.Tensor('float32', pixelValues, [1, 3, size, size]) });
    this.counters.visionRuns++;
    return out.image_embeds!.data as Float32Array;
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
    const tokenEmbeds = ids.length > 0 ? await embedTokens(this.sessions, ids) : new Float32Array(0);
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
    // Checked before the conversation is looked up: a refused request must not take cache buffers.
    const { seg0, seg1 } = buildPrompt(this.model, this.tokenizer, request.history, request.task, request.question);
    const sequence = [...seg0, ...imageSlots(this.model.vision.tokens), ...seg1];
    const limit = this.decoder.positions;
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
    let first: Awaited<ReturnType<DecoderDriver['step']>>;
    try {
      first = await this.decoder.step(await this.embedPositions(rest, state.imageEmbeds), rest.length, past.kv, past.length);
    } catch (err) {
      this.abandon(request.conversation, past.kv, run);
      throw err;
    }
    this.counters.prefillTokens += rest.length;
    const conversation: ConversationState = { ...state, sequence, kv: first.kv };
    return new GenerationTask(this, request, conversation, first.logits, {
      ...timings,
      prefillMs: elapsed(t),
      prefillTokens: rest.length,
      began,
      visionCached: cached,
      config: generationConfig(this.model, request.generation),
      limit,
      run,
      onText,
    });
  }

  private markRunning(key: string): RunFlag {
    const run = { forgotten: false };
    this.running.set(key, run);
    return run;
  }

  /** Called by a finished task: the conversation's KV now covers the answer too (unless forgotten meanwhile). */
  remember(key: string, state: ConversationState, run: RunFlag): void {
    this.decoder.release(state.kv);
    if (run.forgotten) this.decoder.discard(state.kv);
    else this.cache.set(key, state);
    this.done(key, run);
  }

  /**
   * Called for a generation that failed or was dropped: `kv` may hold half-written positions, so the conversation
   * keeps no state in it (it starts again from its image next time).
   */
  abandon(key: string, kv: ort.Tensor[], run: RunFlag): void {
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
