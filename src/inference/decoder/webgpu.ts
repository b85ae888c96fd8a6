import * as ort from 'onnxruntime-node';
import { fromHalfArray, toHalfArray } from '../float16.ts';
import type { ConversationState } from '../kv-cache.ts';
import type { ModelInfo } from '../model-config.ts';
import type { ModelSessions } from '../sessions.ts';
import type { DecodeScheduler, DecoderDriver, DecoderOutput, DecodingTask } from './driver.ts';
import { embedTokens } from './embed-tokens.ts';
import { GpuKvBuffers } from './gpu-kv-buffers.ts';
import { CACHE_INPUT, decoderFeeds, EMBEDS_INPUT, inPlaceFetches, logitsOf } from './graph-io.ts';
import { DecodeOneByOne } from './one-by-one.ts';

type Activation = 'float32' | 'float16';

/**
 * Drives the `--target webgpu` decoder (models/README.md, "Execution providers"): GroupQueryAttention over
 * per-conversation key/value buffers of [1, H, maxLength, hd], passed both as the pasts and as the pre-allocated
 * presents so that each call writes its new positions in place; activations in the graph's own dtype (fp16 or
 * fp32), converted here. A conversation keeps its buffers between turns: a follow-up overwrites them from the
 * end of the prefix it shares with the previous turn.
 */
export class WebGpuDecoder implements DecoderDriver {
  readonly layout = 'webgpu';
  /**
   * Buffers a generation is writing. They are not handed to another generation meanwhile, nor made spare until
   * it is done.
   */
  private readonly busy = new WeakSet<ort.Tensor[]>();
  /**
   * Buffers no conversation keeps, for the next one that needs some: a new set is allocated only when none is
   * spare, so memory follows the most caches ever in use at once (kept conversations and generations under way),
   * not the number of conversations served. Left to the garbage collector they were not freed in time: it sees
   * only small handles and no reason to hurry, and on a GPU every conversation's buffers stayed allocated.
   */
  private readonly spare: ort.Tensor[][] = [];
  private allocated = 0;

  private constructor(
    private readonly sessions: ModelSessions,
    private readonly model: ModelInfo,
    private readonly activation: Activation,
    private readonly kvType: Activation,
    readonly positions: number,
    private readonly gpu: GpuKvBuffers | undefined,
  ) {}

  static async create(sessions: ModelSessions, model: ModelInfo): Promise<WebGpuDecoder> {
    const typeOf = (input: string): Activation => (sessions.inputInfo('decoder', input)?.type === 'float16' ? 'float16' : 'float32');
    const kvType = typeOf(CACHE_INPUT);
    // A graph exported with a fixed cache length dictates it; the exporter's is free, bounded by its rotary table.
    const declared = sessions.inputInfo('decoder', CACHE_INPUT)?.shape[2];
    const positions = typeof declared === 'number' ? declared : Math.min(model.generation.context_limit, model.llm.max_positions);
    const gpu = sessions.device === 'webgpu' ? await GpuKvBuffers.open(kvType) : undefined;
    return new WebGpuDecoder(sessions, model, typeOf(EMBEDS_INPUT), kvType, positions, gpu);
  }

  embed(ids: readonly number[]): Promise<Float32Array> {
    return embedTokens(this.sessions, ids);
  }

  get buffersHeld(): number {
    return this.allocated;
  }

  /**
   * Buffers are large (a 7B model: 0.5 MB per position), so a conversation's new image reuses its old ones;
   * `resume` replaces them if a generation is still writing them.
   */
  async fresh(previous?: ort.Tensor[]): Promise<ort.Tensor[]> {
    // A spare `previous` was dropped after the request looked its conversation up (a forget during vision).
    return previous && previous.length > 0 && !this.spare.includes(previous) ? previous : this.allocate();
  }

  async resume(state: ConversationState, keep: number): Promise<{ kv: ort.Tensor[]; length: number }> {
    if (this.busy.has(state.kv) || this.spare.includes(state.kv)) {
      const kv = await this.allocate();
      this.busy.add(kv);
      return { kv, length: 0 };
    }
    this.busy.add(state.kv);
    return { kv: state.kv, length: keep };
  }

  release(kv: ort.Tensor[]): void {
    this.busy.delete(kv);
  }

  discard(kv: ort.Tensor[]): void {
    if (kv.length > 0 && !this.busy.has(kv) && !this.spare.includes(kv)) this.spare.push(kv);
  }

  async step(embeds: Float32Array, count: number, past: ort.Tensor[], pastLength: number): Promise<DecoderOutput> {
    const { hidden_size: D, vocab_size: V } = this.model.llm;
    const total = pastLength + count;
    if (total > this.positions) throw new Error(`the decoder's cache holds ${this.positions} positions, not ${total}`);
    const embedsTensor = this.activation === 'float16'
      ? new ort.Tensor('float16', toHalfArray(embeds), [1, count, D])
      : new ort.Tensor('float32', embeds, [1, count, D]);
    // One conversation per call, all of it real: no padding to mask.
    const mask = new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]);
    const feeds = decoderFeeds({ embeds: embedsTensor, mask, past });
    const out = await this.sessions.run('decoder', feeds, inPlaceFetches(past));
    return { logits: lastRow(logitsOf(out), count, V), kv: past };
  }

  /** Every conversation writes its own in-place cache, so each decode step is a call of its own. */
  scheduler<T extends DecodingTask>(): DecodeScheduler<T> {
    return new DecodeOneByOne<T>();
  }

  async close(): Promise<void> {
    await this.gpu?.close();
  }

  /** A spare set if there is one (its stale positions are overwritten before they are read), else a new one. */
  private async allocate(): Promise<ort.Tensor[]> {
    const reused = this.spare.pop();
    if (reused) return reused;
    const { layers, heads, head_dim } = this.model.llm;
    const dims = [1, heads, this.positions, head_dim];
    const count = 2 * layers;
    const size = heads * this.positions * head_dim;
    const gpu = this.gpu;
    const kv = gpu
      ? await Promise.all(Array.from({ length: count }, () => gpu.zeros(dims)))
      : Array.from({ length: count }, () =>
          this.kvType === 'float16' ? new ort.Tensor('float16', new Uint16Array(size), dims) : new ort.Tensor('float32', new Float32Array(size), dims),
        );
    this.allocated++;
    return kv;
  }
}

/** The scores of the last of `count` positions as float32, whatever the graph's logits type. */
function lastRow(logits: ort.Tensor, count: number, vocab: number): Float32Array {
  const row = (logits.data as Float32Array | Uint16Array).subarray((count - 1) * vocab, count * vocab);
  return logits.type === 'float16' ? fromHalfArray(row as Uint16Array) : Float32Array.from(row);
}
