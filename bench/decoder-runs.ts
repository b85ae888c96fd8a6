import * as ort from 'onnxruntime-node';

/** Drives a decoder graph over a fixed sequence of input embeddings (a prefill, then one token per step) and
 * returns each call's last-position logits as float32 and each call's time: the plain CPU layout (Concat KV,
 * position_ids) or the --target webgpu layout (GroupQueryAttention over max-length KV buffers, attention_mask
 * only). Used by the exporter's tests and by bench/variants.ts. */
export interface DecoderShape { layers: number; heads: number; headDim: number; hidden: number; vocab: number }

export interface DecoderRun { logits: Float32Array[]; ms: number[] }

export interface RunOptions { threads?: number }

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  // Node 20 has no Float16Array: onnxruntime-node hands float16 data over as raw Uint16Array bits
  return Float32Array.from(t.data as Uint16Array, halfToFloat);
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function embedsTensor(values: Float32Array, dims: number[], type: 'float32' | 'float16'): ort.Tensor {
  if (type === 'float32') return new ort.Tensor('float32', values, dims);
  return new ort.Tensor('float16', floatsToHalf(values), dims);
}

function floatsToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    const mant = x & 0x7fffff;
    if (exp <= 0) out[i] = sign;
    else if (exp >= 31) out[i] = sign | 0x7c00;
    else out[i] = sign | (exp << 10) | Math.round(mant / 8192);
  }
  return out;
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
