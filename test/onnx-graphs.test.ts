// The committed mini model's ONNX graphs against the PyTorch reference's goldens: names and shapes of the
// model-directory contract, the first step with zero-length pasts, the KV cache, and left-padded batching.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';

const MODEL = 'models/mini';
const GOLDEN = 'test/fixtures/golden';

interface F32Ref { file: string; shape: number[] }
interface Golden {
  images: { name: string; image_embeds: F32Ref; pixel_values: F32Ref }[];
  prompts: { image: string; history: unknown[]; seg0_ids: number[]; seg1_ids: number[]; first_logits: F32Ref; greedy_ids: number[] }[];
}

const golden: Golden = JSON.parse(readFileSync(join(GOLDEN, 'mini.json'), 'utf8'));
const config = JSON.parse(readFileSync(join(MODEL, 'model.json'), 'utf8'));
const { hidden_size: D, layers: L, heads: H, head_dim: HD, vocab_size: V } = config.llm;
const EOS: number = config.tokens.eos;

function f32(ref: F32Ref): Float32Array {
  const buf = readFileSync(join(GOLDEN, ref.file));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** max |a - b| / max |b|: the relative error the parity requirement is stated in. */
function relErr(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const float = (values: Float32Array, dims: number[]) => new ort.Tensor('float32', values, dims);
const emptyPast = (batch: number) => float(new Float32Array(0), [batch, H, 0, HD]);

let vision: ort.InferenceSession;
let embed: ort.InferenceSession;
let decoder: ort.InferenceSession;

beforeAll(async () => {
  [vision, embed, decoder] = await Promise.all(
    ['vision', 'embed_tokens', 'decoder'].map((n) => ort.InferenceSession.create(join(MODEL, `${n}.onnx`))),
  );
});

async function embedIds(ids: number[]): Promise<Float32Array> {
  const out = await embed.run({ input_ids: int64(ids, [1, ids.length]) });
  return out.inputs_embeds.data as Float32Array;
}

/** seg0 ++ image embeddings ++ seg1, as the engine splices them. */
async function promptEmbeds(p: Golden['prompts'][number]): Promise<Float32Array> {
  const img = golden.images.find((i) => i.name === p.image)!;
  const parts = [await embedIds(p.seg0_ids), f32(img.image_embeds), await embedIds(p.seg1_ids)];
  const out = new Float32Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

function pastFeeds(out: ort.InferenceSession.OnnxValueMapType | null, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < L; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = out ? (out[`present.${i}.${kind}`] as ort.Tensor) : emptyPast(batch);
    }
  }
  return feeds;
}

const lastRow = (logits: ort.Tensor, row: number) => {
  const [, T] = logits.dims;
  const data = logits.data as Float32Array;
  return data.slice((row * T + T - 1) * V, (row * T + T) * V);
};
const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > x[best] ? i : best), 0);

describe('mini model graphs', () => {
  it('exposes the input and output names of the model-directory contract', () => {
    expect(vision.inputNames).toEqual(['pixel_values']);
    expect(vision.outputNames).toEqual(['image_embeds']);
    expect(embed.inputNames).toEqual(['input_ids']);
    expect(embed.outputNames).toEqual(['inputs_embeds']);
    const layers = [...Array(L).keys()];
    expect(decoder.inputNames).toEqual(['inputs_embeds', 'attention_mask', 'position_ids',
      ...layers.flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])]);
    expect(decoder.outputNames).toEqual(['logits', ...layers.flatMap((i) => [`present.${i}.key`, `present.${i}.value`])]);
  });

  it('vision gives the reference image embeddings for a batch of two images', async () => {
    const [a, b] = golden.images;
    const pa = f32(a.pixel_values);
    const pixels = new Float32Array(pa.length * 2);
    pixels.set(pa);
    pixels.set(f32(b.pixel_values), pa.length);
    const S = config.vision.image_size;
    const out = (await vision.run({ pixel_values: float(pixels, [2, 3, S, S]) })).image_embeds;
    expect(out.dims).toEqual([2, config.vision.tokens, D]);
    const data = out.data as Float32Array;
    const n = data.length / 2;
    expect(relErr(data.slice(0, n), f32(a.image_embeds))).toBeLessThan(1e-4);
    expect(relErr(data.slice(n), f32(b.image_embeds))).toBeLessThan(1e-4);
  });

  it('first step with zero-length pasts gives the reference logits; the KV cache reproduces greedy ids', async () => {
    for (const p of [golden.prompts[0], golden.prompts.find((q) => q.history.length === 2)!]) {
      const x = await promptEmbeds(p);
      let T = x.length / D;
      let out = await decoder.run({
        inputs_embeds: float(x, [1, T, D]),
        attention_mask: int64(Array(T).fill(1), [1, T]),
        position_ids: int64([...Array(T).keys()], [1, T]),
        ...pastFeeds(null, 1),
      });
      expect(out.logits.dims).toEqual([1, T, V]);
      expect(out['present.0.key'].dims).toEqual([1, H, T, HD]);
      expect(relErr(lastRow(out.logits, 0), f32(p.first_logits))).toBeLessThan(1e-4);
      const ids: number[] = [];
      for (let step = 0; step < p.greedy_ids.length; step++) {
        const next = argmax(lastRow(out.logits, 0));
        ids.push(next);
        if (next === EOS) break;
        out = await decoder.run({
          inputs_embeds: float(await embedIds([next]), [1, 1, D]),
          attention_mask: int64(Array(T + 1).fill(1), [1, T + 1]),
          position_ids: int64([T], [1, 1]),
          ...pastFeeds(out, 1),
        });
        T += 1;
      }
      expect(ids).toEqual(p.greedy_ids);
    }
  });

  it('a left-padded batch of two prompts matches each prompt run alone, at prefill and at the next step', async () => {
    const prompts = [golden.prompts[0], golden.prompts.find((q) => q.history.length === 2)!];
    const xs = await Promise.all(prompts.map(promptEmbeds));
    const lens = xs.map((x) => x.length / D);
    const T = Math.max(...lens);
    const batchX = new Float32Array(2 * T * D);
    const mask: number[] = [];
    const pos: number[] = [];
    xs.forEach((x, row) => {
      const pad = T - lens[row];
      batchX.set(x, (row * T + pad) * D);
      for (let t = 0; t < T; t++) {
        mask.push(t < pad ? 0 : 1);
        pos.push(Math.max(0, t - pad));
      }
    });
    const batched = await decoder.run({
      inputs_embeds: float(batchX, [2, T, D]), attention_mask: int64(mask, [2, T]),
      position_ids: int64(pos, [2, T]), ...pastFeeds(null, 2),
    });
    const nextIds = [0, 1].map((row) => argmax(lastRow(batched.logits, row)));
    const nextX = new Float32Array(2 * D);
    for (const row of [0, 1]) nextX.set(await embedIds([nextIds[row]]), row * D);
    const batchedNext = await decoder.run({
      inputs_embeds: float(nextX, [2, 1, D]),
      attention_mask: int64([...mask.slice(0, T), 1, ...mask.slice(T), 1], [2, T + 1]),
      position_ids: int64(lens, [2, 1]), ...pastFeeds(batched, 2),
    });
    for (const row of [0, 1]) {
      const n = lens[row];
      const alone = await decoder.run({
        inputs_embeds: float(xs[row], [1, n, D]), attention_mask: int64(Array(n).fill(1), [1, n]),
        position_ids: int64([...Array(n).keys()], [1, n]), ...pastFeeds(null, 1),
      });
      expect(relErr(lastRow(batched.logits, row), lastRow(alone.logits, 0))).toBeLessThan(1e-4);
      const aloneNext = await decoder.run({
        inputs_embeds: float(await embedIds([nextIds[row]]), [1, 1, D]),
        attention_mask: int64(Array(n + 1).fill(1), [1, n + 1]), position_ids: int64([n], [1, 1]),
        ...pastFeeds(alone, 1),
      });
      expect(relErr(lastRow(batchedNext.logits, row), lastRow(aloneNext.logits, 0))).toBeLessThan(1e-4);
    }
  });

  it('a fully padded row stays finite instead of turning into NaN', async () => {
    const out = await decoder.run({
      inputs_embeds: float(new Float32Array(2 * D).fill(0.5), [1, 2, D]),
      attention_mask: int64([0, 0], [1, 2]), position_ids: int64([0, 0], [1, 2]), ...pastFeeds(null, 1),
    });
    expect((out.logits.data as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
