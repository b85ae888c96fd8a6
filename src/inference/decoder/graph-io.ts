import * as ort from 'onnxruntime-node';
import type { Feeds } from '../sessions.ts';

/**
 * The names of the model directory's graphs' inputs and outputs (models/README.md documents them), written here
 * only: everything else builds feeds and reads results through these functions.
 */

type Outputs = ort.InferenceSession.OnnxValueMapType;

const PAST = (layer: number, part: 'key' | 'value'): string => `past_key_values.${layer}.${part}`;
const PRESENT = (layer: number, part: 'key' | 'value'): string => `present.${layer}.${part}`;

/** vision.onnx: pixel_values [1, 3, S, S]. */
export function visionFeeds(pixelValues: Float32Array, size: number): Feeds {
  return { pixel_values: new ort.Tensor('float32', pixelValues, [1, 3, size, size]) };
}

/** vision.onnx's image embeddings [1, N, D], flat. */
export function imageEmbedsOf(out: Outputs): Float32Array {
  return out.image_embeds!.data as Float32Array;
}

/** embed_tokens.onnx: input_ids of `rows` equal-length rows. */
export function tokenFeeds(ids: readonly number[], rows = 1): Feeds {
  const input = new ort.Tensor('int64', BigInt64Array.from(ids, (id) => BigInt(id)), [rows, ids.length / rows]);
  return { input_ids: input };
}

/** embed_tokens.onnx's embeddings [rows, count, D], flat. */
export function tokenEmbedsOf(out: Outputs): Float32Array {
  return out.inputs_embeds!.data as Float32Array;
}

export interface DecoderInputs {
  /** inputs_embeds [B, count, D], float32 or float16 as the graph declares. */
  embeds: ort.Tensor;
  /** attention_mask [B, past + count]: 1 for every position attended to, 0 for padding. */
  mask: ort.Tensor;
  /** position_ids [B, count]: only the plain layout has them (the in-place one derives them from the mask). */
  positions?: ort.Tensor;
  /** The pasts, key then value for every layer in order. */
  past: readonly ort.Tensor[];
}

/** decoder.onnx's feeds. */
export function decoderFeeds(inputs: DecoderInputs): Feeds {
  const feeds: Feeds = { inputs_embeds: inputs.embeds, attention_mask: inputs.mask };
  if (inputs.positions) feeds.position_ids = inputs.positions;
  for (let i = 0; i < inputs.past.length / 2; i++) {
    feeds[PAST(i, 'key')] = inputs.past[2 * i]!;
    feeds[PAST(i, 'value')] = inputs.past[2 * i + 1]!;
  }
  return feeds;
}

/** decoder.onnx's logits [B, count, V]. */
export function logitsOf(out: Outputs): ort.Tensor {
  return out.logits!;
}

/** decoder.onnx's presents, key then value for every one of `layers`. */
export function presentsOf(out: Outputs, layers: number): ort.Tensor[] {
  return Array.from({ length: 2 * layers }, (_, i) => out[PRESENT(i >> 1, i & 1 ? 'value' : 'key')]!);
}

/** Fetches for the in-place layout: the logits, and each present written into the buffer given as its past. */
export function inPlaceFetches(past: readonly ort.Tensor[]): Record<string, ort.Tensor | null> {
  const fetches: Record<string, ort.Tensor | null> = { logits: null };
  past.forEach((t, i) => {
    fetches[PRESENT(i >> 1, i & 1 ? 'value' : 'key')] = t;
  });
  return fetches;
}

/** The decoder input whose declared type and shape are those of the cache (layer 0's past key). */
export const CACHE_INPUT = PAST(0, 'key');
/** The decoder input whose declared type is that of the activations. */
export const EMBEDS_INPUT = 'inputs_embeds';

/**
 * The layout a decoder's inputs show: 'webgpu' (`--target webgpu`: GroupQueryAttention over in-place caches,
 * positions derived from the mask) or 'plain' (caches grown by the graph, position_ids).
 */
export function decoderLayout(inputNames: readonly string[]): 'plain' | 'webgpu' {
  return inputNames.includes('attention_mask') && !inputNames.includes('position_ids') ? 'webgpu' : 'plain';
}
