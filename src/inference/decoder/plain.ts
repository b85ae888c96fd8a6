import * as ort from 'onnxruntime-node';
import { type ConversationState, truncateKv } from '../kv-cache.ts';
import type { ModelInfo } from '../model-config.ts';
import type { ModelSessions } from '../sessions.ts';
import { DecodeBatch, type RowsDecoder, type RowsOutput } from './batch.ts';
import type { DecodeCounters, DecoderDriver, DecoderOutput, DecodeScheduler, DecodingTask } from './driver.ts';
import { embedTokens } from './embed-tokens.ts';
import { decoderFeeds, logitsOf, presentsOf } from './graph-io.ts';

/**
 * The plain layout: each call returns new, longer caches, so every cache is immutable and freely shared, and
 * several conversations' decode steps can share one call (batch.ts).
 */
export class PlainDecoder implements DecoderDriver, RowsDecoder {
  readonly layout = 'plain';
  readonly positions: number;
  readonly buffersHeld = 0;

  constructor(
    private readonly sessions: ModelSessions,
    private readonly model: ModelInfo,
  ) {
    this.positions = Math.min(model.generation.context_limit, model.llm.max_positions);
  }

  embed(ids: readonly number[]): Promise<Float32Array> {
    return embedTokens(this.sessions, ids);
  }

  /** Zero-length pasts shaped from the model: the decoder graph has no separate first-step branch. */
  async fresh(): Promise<ort.Tensor[]> {
    const { layers, heads, head_dim } = this.model.llm;
    const empty = (): ort.Tensor => new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, head_dim]);
    return Array.from({ length: layers * 2 }, empty);
  }

  async resume(state: ConversationState, keep: number): Promise<{ kv: ort.Tensor[]; length: number }> {
    return { kv: truncateKv(state.kv, keep), length: keep };
  }

  /** Every position of a single conversation is real: no padding, positions continue from the past. */
  async step(embeds: Float32Array, count: number, past: ort.Tensor[], pastLength: number): Promise<DecoderOutput> {
    const out = await this.rows(embeds, count, [0], pastLength, past);
    const vocab = this.model.llm.vocab_size;
    return { logits: out.logits.slice((count - 1) * vocab, count * vocab), kv: out.kv };
  }

  /**
   * One call over `count` new positions for each of `pads.length` rows sharing a cache `width` positions wide:
   * row i's first `pads[i]` positions are padding, masked out, and its position ids count only its own positions.
   */
  async rows(
    embeds: Float32Array,
    count: number,
    pads: readonly number[],
    width: number,
    past: ort.Tensor[],
  ): Promise<RowsOutput> {
    const rows = pads.length;
    const total = width + count;
    const mask = new BigInt64Array(rows * total);
    const positions = new BigInt64Array(rows * count);
    pads.forEach((pad, i) => {
      mask.fill(1n, i * total + pad, (i + 1) * total);
      for (let j = 0; j < count; j++) positions[i * count + j] = BigInt(width - pad + j);
    });
    const feeds = decoderFeeds({
      embeds: new ort.Tensor('float32', embeds, [rows, count, this.model.llm.hidden_size]),
      mask: new ort.Tensor('int64', mask, [rows, total]),
      positions: new ort.Tensor('int64', positions, [rows, count]),
      past,
    });
    const out = await this.sessions.run('decoder', feeds);
    return { logits: logitsOf(out).data as Float32Array, kv: presentsOf(out, this.model.llm.layers) };
  }

  scheduler<T extends DecodingTask>(counters: DecodeCounters): DecodeScheduler<T> {
    return new DecodeBatch<T>(this, this.model.llm.vocab_size, counters);
  }

  release(): void {}

  /** Its caches are ordinary tensors, left to the garbage collector. */
  discard(): void {}

  async close(): Promise<void> {}
}
