import * as ort from 'onnxruntime-node';
import {
  type DecoderInputs, decoderFeeds, EMBEDS_INPUT, logitsOf, presentsOf,
} from '../src/inference/decoder/graph-io.ts';
import { fromHalfArray, toHalfArray } from '../src/inference/float16.ts';

/** Drives a decoder graph over a fixed sequence of input embeddings (a prefill, then one token per step) and
 * returns each call's last-position logits as float32 and each call's time: the plain CPU layout (Concat KV,
 * position_ids) or the --target webgpu layout (GroupQueryAttention over max-length KV buffers, attention_mask
 * only). Used by the exporter's tests and by bench/variants.ts. */
export interface DecoderShape { layers: number; heads: number; headDim: number; hidden: number; vocab: number }

export interface DecoderRun { logits: Float32Array[]; ms: number[] }

export interface RunOptions { threads?: number }

function toFloat32(t: ort.Tensor): Float32Array {
  return t.type === 'float32' ? (t.data as Float32Array) : fromHalfArray(t.data as Uint16Array);
}

function embedsTensor(values: Float32Array, dims: number[], type: 'float32' | 'float16'): ort.Tensor {
  return type === 'float32' ? new ort.Tensor('float32', values, dims) : new ort.Tensor('float16', toHalfArray(values), dims);
}

const ones = (n: number) => new ort.Tensor('int64', BigInt64Array.from({ length: n }, () => 1n), [1, n]);

const pasts = (s: DecoderShape, make: () => ort.Tensor): ort.Tensor[] => Array.from({ length: 2 * s.layers }, make);

interface Layout {
  first: ort.Tensor[];
  inputs(chunk: Float32Array, done: number, t: number): Omit<DecoderInputs, 'past'>;
}

/** The loop both layouts share: feed each chunk with the previous call's presents as pasts, time each call. */
async function runChunks(path: string, s: DecoderShape, chunks: Float32Array[], o: RunOptions, layout: (session: ort.InferenceSession) => Layout): Promise<DecoderRun> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: o.threads ?? 1 });
  const { first, inputs } = layout(session);
  let past = first;
  const logits: Float32Array[] = [];
  const ms: number[] = [];
  let done = 0;
  for (const chunk of chunks) {
    const t = chunk.length / s.hidden;
    const start = performance.now();
    const out = await session.run(decoderFeeds({ ...inputs(chunk, done, t), past }));
    ms.push(performance.now() - start);
    done += t;
    logits.push(toFloat32(logitsOf(out)).slice((t - 1) * s.vocab));
    past = presentsOf(out, s.layers);
  }
  await session.release();
  return { logits, ms };
}

export function runPlain(path: string, s: DecoderShape, chunks: Float32Array[], o: RunOptions = {}): Promise<DecoderRun> {
  return runChunks(path, s, chunks, o, () => ({
    first: pasts(s, () => new ort.Tensor('float32', new Float32Array(0), [1, s.heads, 0, s.headDim])),
    inputs: (chunk, done, t) => ({
      embeds: new ort.Tensor('float32', chunk, [1, t, s.hidden]),
      mask: ones(done + t),
      positions: new ort.Tensor('int64', BigInt64Array.from({ length: t }, (_, j) => BigInt(done + j)), [1, t]),
    }),
  }));
}

export function runGqa(path: string, s: DecoderShape, chunks: Float32Array[], maxLength: number, o: RunOptions = {}): Promise<DecoderRun> {
  return runChunks(path, s, chunks, o, (session) => {
    const input = session.inputMetadata.find((m) => m.name === EMBEDS_INPUT && m.isTensor);
    const type = input as { type?: string } | undefined;
    const act = type?.type === 'float16' ? 'float16' : 'float32';
    const size = s.heads * maxLength * s.headDim;
    return {
      first: pasts(s, () => embedsTensor(new Float32Array(size), [1, s.heads, maxLength, s.headDim], act)),
      inputs: (chunk, done, t) => ({ embeds: embedsTensor(chunk, [1, t, s.hidden], act), mask: ones(done + t) }),
    };
  });
}
