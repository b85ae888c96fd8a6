import type * as ort from 'onnxruntime-node';
import type { ConversationState } from '../kv-cache.ts';

export interface DecoderOutput {
  /** Scores for the token after the last input position (a copy the caller may modify). */
  logits: Float32Array;
  /** The updated cache, key then value for every layer. */
  kv: ort.Tensor[];
}

/** A conversation being answered, as a scheduler of decode steps sees it (GenerationTask). */
export interface DecodingTask {
  /** The token the next decode step feeds. */
  readonly lastToken: number;
  /** Positions the conversation's cache holds before the next fed token. */
  readonly pastLength: number;
  /** Feeds the last token and picks the next one, alone; true once the answer is complete. */
  step(): Promise<boolean>;
  /** Hands the conversation's cache over to a shared batch (the task gets it back through applyStep's finalKv). */
  takeCache(): ort.Tensor[];
  /** Records a decode step computed in a batch; `finalKv` cuts the task's cache out if the answer is complete. */
  applyStep(logits: Float32Array, ms: number, finalKv?: () => ort.Tensor[]): boolean;
}

/** Runs the decode steps of the conversations being answered, every one of them a token per `step`. */
export interface DecodeScheduler<T extends DecodingTask> {
  readonly size: number;
  readonly tasks: T[];
  /** The task joins at the next step (its prefill is done and its first token chosen). */
  add(task: T): void;
  /** Drops every task (after a failed step, whose caches can no longer be trusted). */
  clear(): void;
  /** One token for every task; returns those that finished (they leave). */
  step(): Promise<T[]>;
}

/** What a decoder counts: the decoder calls made for decode steps (prefills not included). */
export interface DecodeCounters {
  decodeCalls: number;
}

/**
 * The language model's side of the model directory (embed_tokens.onnx and decoder.onnx) in the layout it has,
 * chosen once when the model loads (load.ts): the plain one (plain.ts: caches grown by the graph, several
 * conversations batched into one call) or the in-place one of `--target webgpu` (webgpu.ts: one call each).
 */
export interface DecoderDriver {
  readonly layout: 'plain' | 'webgpu';
  /** The most positions a conversation may reach, prompt included. */
  readonly positions: number;
  /** Token ids → embeddings [count, D]. */
  embed(ids: readonly number[]): Promise<Float32Array>;
  /** A cache holding no positions, for a new conversation; `previous` is the cache it had before, if any. */
  fresh(previous?: ort.Tensor[]): Promise<ort.Tensor[]>;
  /** The cache to continue `state` from and how many positions it holds: at most `keep`, all of them correct. */
  resume(state: ConversationState, keep: number): Promise<{ kv: ort.Tensor[]; length: number }>;
  /** One conversation's call over `count` new positions after `pastLength` cached ones. */
  step(embeds: Float32Array, count: number, past: ort.Tensor[], pastLength: number): Promise<DecoderOutput>;
  /** The answer computed in `kv` is complete (or abandoned): the cache may serve the conversation's next request. */
  release(kv: ort.Tensor[]): void;
  /** No conversation keeps `kv` any more: its buffers may serve another one, once no generation writes them. */
  discard(kv: ort.Tensor[]): void;
  /** Cache buffer sets this driver has allocated, spare ones included (0 where caches are ordinary tensors). */
  readonly buffersHeld: number;
  /** How this layout runs several conversations' decode steps: in one shared call, or one call each. */
  scheduler<T extends DecodingTask>(counters: DecodeCounters): DecodeScheduler<T>;
  close(): Promise<void>;
}
