import * as ort from 'onnxruntime-node';
import { type ConversationState, truncateKv } from './kv-cache.ts';
import type { ModelInfo } from './model-config.ts';
import type { ModelSessions } from './sessions.ts';

export interface DecoderOutput {
  /** Scores for the token after the last input position (a copy the caller may modify). */
  logits: Float32Array;
  /** The updated cache: present.{i}.key / .value for every layer. */
  kv: ort.Tensor[];
}

/** Zero-length pasts shaped from the model: the decoder graph has no separate first-step branch. */
export function emptyKv(model: ModelInfo): ort.Tensor[] {
  const { layers, heads, head_dim } = model.llm;
  return Array.from({ length: layers * 2 }, () => new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, head_dim]));
}

/** Token ids → embeddings [count, D]. */
export async function embedTokens(sessions: ModelSessions, ids: readonly number[]): Promise<Float32Array> {
  const input = new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [1, ids.length]);
  const out = await sessions.run('embedTokens', { input_ids: input });
  return out.inputs_embeds!.data as Float32Array;
}

/**
 * One decoder call over `count` new positions after `pastLength` cached ones. Every position is real (no padding
 * in a single conversation), so the mask is all ones and positions simply continue from the past.
 */
export async function decoderStep(
  sessions: ModelSessions,
  model: ModelInfo,
  embeds: Float32Array,
  count: number,
  past: ort.Tensor[],
  pastLength: number,
): Promise<DecoderOutput> {
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', embeds, [1, count, model.llm.hidden_size]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(pastLength + count).fill(1n), [1, pastLength + count]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: count }, (_, i) => BigInt(pastLength + i)), [1, count]),
  };
  for (let i = 0; i < model.llm.layers; i++) {
    feeds[`past_key_values.${i}.key`] = past[2 * i]!;
    feeds[`past_key_values.${i}.value`] = past[2 * i + 1]!;
  }
  const out = await sessions.run('decoder', feeds);
  const vocab = model.llm.vocab_size;
  const all = out.logits!.data as Float32Array;
  const kv: ort.Tensor[] = [];
  for (let i = 0; i < model.llm.layers; i++) kv.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
  return { logits: all.slice((count - 1) * vocab, count * vocab), kv };
}

/**
 * How the engine drives its decoder graph, whichever layout the model directory has: the plain one here (caches
 * grown by the graph, position_ids) or the in-place one of `--target webgpu` (webgpu-decoder.ts).
 */
export interface DecoderDriver {
  readonly layout: 'plain' | 'webgpu';
  /** The most positions a conversation may reach, prompt included. */
  readonly positions: number;
  /** A cache holding no positions, for a new conversation; `previous` is the cache it had before, if any. */
  fresh(previous?: ort.Tensor[]): Promise<ort.Tensor[]>;
  /** The cache to continue `state` from and how many positions it holds: at most `keep`, all of them correct. */
  resume(state: ConversationState, keep: number): Promise<{ kv: ort.Tensor[]; length: number }>;
  step(embeds: Float32Array, count: number, past: ort.Tensor[], pastLength: number): Promise<DecoderOutput>;
  /** The answer computed in `kv` is complete (or abandoned): the cache may serve the conversation's next request. */
  release(kv: ort.Tensor[]): void;
  /** No conversation keeps `kv` any more: its buffers may serve another one, once no generation writes them. */
  discard(kv: ort.Tensor[]): void;
  /** Cache buffer sets this driver has allocated, spare ones included (0 where caches are ordinary tensors). */
  readonly buffersHeld: number;
  close(): Promise<void>;
}

/** The plain layout: each call returns new, longer caches, so every cache is immutable and freely shared. */
export class PlainDecoder implements DecoderDriver {
  readonly layout = 'plain';
  readonly positions: number;

  constructor(
    private readonly sessions: ModelSessions,
    private readonly model: ModelInfo,
  ) {
    this.positions = Math.min(model.generation.context_limit, model.llm.max_positions);
  }

  async fresh(): Promise<ort.Tensor[]> {
    return emptyKv(this.model);
  }

  async resume(state: ConversationState, keep: number): Promise<{ kv: ort.Tensor[]; length: number }> {
    return { kv: truncateKv(state.kv, keep), length: keep };
  }

  step(embeds: Float32Array, count: number, past: ort.Tensor[], pastLength: number): Promise<DecoderOutput> {
    return decoderStep(this.sessions, this.model, embeds, count, past, pastLength);
  }

  release(): void {}

  /** Its caches are ordinary tensors, left to the garbage collector. */
  discard(): void {}

  readonly buffersHeld = 0;

  async close(): Promise<void> {}
}
