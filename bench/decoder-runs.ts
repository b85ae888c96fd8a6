import * as ort from 'onnxruntime-node';
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

type Pasts = Record<string, ort.Tensor>;

function pasts(s: DecoderShape, make: (name: string) => ort.Tensor): Pasts {
  const out: Pasts = {};
  for (let i = 0; i < s.layers; i++) for (const k of ['key', 'value']) out[`past_key_values.${i}.${k}`] = make(`present.${i}.${k}`);
  return out;
}

interface Layout {
  first: Pasts;
  feeds(chunk: Float32Array, done: number, t: number): Record<string, ort.Tensor>;
}

/** The loop both layouts share: feed each chunk with the previous call's presents as pasts, time each call. */
async function runChunks(path: string, s: DecoderShape, chunks: Float32Array[], o: RunOptions, layout: (session: ort.InferenceSession) => Layout): Promise<DecoderRun> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: o.threads ?? 1 });
  const { first, feeds } = layout(session);
  let past = first;
  const logits: Float32Array[] = [];
  const ms: number[] = [];
  let done = 0;
  for (const chunk of chunks) {
    const t = chunk.length / s.hidden;
    const start = performance.now();
    const out = await session.run({ ...feeds(chunk, done, t), ...past });
    ms.push(performance.now() - start);
    done += t;
    logits.push(toFloat32(out.logits!).slice((t - 1) * s.vocab));
    past = pasts(s, (present) => out[present]!);
  }
  await session.release();
  return { logits, ms };
}

export function runPlain(path: string, s: DecoderShape, chunks: Float32Array[], o: RunOptions = {}): Promise<DecoderRun> {
  return runChunks(path, s, chunks, o, () => ({
    first: pasts(s, () => new ort.Tensor('float32', new Float32Array(0), [1, s.heads, 0, s.headDim])),
    feeds: (chunk, done, t) => ({
      inputs_embeds: new ort.Tensor('float32', chunk, [1, t, s.hidden]),
      attention_mask: ones(done + t),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: t }, (_, j) => BigInt(done + j)), [1, t]),
    }),
  }));
}

export function runGqa(path: string, s: DecoderShape, chunks: Float32Array[], maxLength: number, o: RunOptions = {}): Promise<DecoderRun> {
  return runChunks(path, s, chunks, o, (session) => {
    const type = session.inputMetadata.find((m) => m.name === 'inputs_embeds' && m.isTensor) as { type?: string } | undefined;
    const act = type?.type === 'float16' ? 'float16' : 'float32';
    const size = s.heads * maxLength * s.headDim;
    return {
      first: pasts(s, () => embedsTensor(new Float32Array(size), [1, s.heads, maxLength, s.headDim], act)),
      feeds: (chunk, done, t) => ({ inputs_embeds: embedsTensor(chunk, [1, t, s.hidden], act), attention_mask: ones(done + t) }),
    };
  });
}
