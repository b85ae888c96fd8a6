// The committed mini model's ONNX graphs against the PyTorch reference's goldens: names and shapes of the
// model-directory contract, the first step with zero-length pasts, the KV cache, and left-padded batching.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { relativeError } from './helpers/relative-error.ts';

const MODEL = 'models/mini';
const GOLDEN = 'test/fixtures/golden';

interface F32Ref { file: string; shape: number[] }
interface GoldenImage { name: string; image_embeds: F32Ref; pixel_values: F32Ref }
interface GoldenPrompt {
  image: string; history: unknown[]; seg0_ids: number[]; seg1_ids: number[]; first_logits: F32Ref; greedy_ids: number[];
}
type Outputs = ort.InferenceSession.OnnxValueMapType;

const golden: { images: GoldenImage[]; prompts: GoldenPrompt[] } =
  JSON.parse(readFileSync(join(GOLDEN, 'mini.json'), 'utf8'));
const config = JSON.parse(readFileSync(join(MODEL, 'model.json'), 'utf8'));
const { hidden_size: D, layers: L, heads: H, head_dim: HD, vocab_size: V } = config.llm as {
  hidden_size: number; layers: number; heads: number; head_dim: number; vocab_size: number;
};
const EOS: number = config.tokens.eos;

function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing ${what}`);
  return value;
}
const output = (out: Outputs, name: string) => defined(out[name], `output ${name}`) as ort.Tensor;

function f32(ref: F32Ref): Float32Array {
  const buf = readFileSync(join(GOLDEN, ref.file));
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

const int64 = (values: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), dims);
const float = (values: Float32Array, dims: number[]) => new ort.Tensor('float32', values, dims);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

let vision: ort.InferenceSession;
let embed: ort.InferenceSession;
let decoder: ort.InferenceSession;

beforeAll(async () => {
  const open = (n: string) => ort.InferenceSession.create(join(MODEL, `${n}.onnx`));
  [vision, embed, decoder] = await Promise.all([open('vision'), open('embed_tokens'), open('decoder')]);
});

async function embedIds(ids: number[]): Promise<Float32Array> {
  const out = await embed.run({ input_ids: int64(ids, [1, ids.length]) });
  return output(out, 'inputs_embeds').data as Float32Array;
}

/** seg0 ++ image embeddings ++ seg1, as the engine splices them. */
async function promptEmbeds(p: GoldenPrompt): Promise<Float32Array> {
  const img = defined(golden.images.find((i) => i.name === p.image), `image ${p.image}`);
  const parts = [await embedIds(p.seg0_ids), f32(img.image_embeds), await embedIds(p.seg1_ids)];
  const out = new Float32Array(parts.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of parts) { out.set(x, o); o += x.length; }
  return out;
}

/** Past inputs: the previous call's presents, or zero-length tensors for the first step. */
function pastFeeds(previous: Outputs | null, batch: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < L; i++) {
    for (const kind of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kind}`] = previous
        ? output(previous, `present.${i}.${kind}`)
        : float(new Float32Array(0), [batch, H, 0, HD]);
    }
  }
  return feeds;
}

function lastRow(out: Outputs, row: number): Float32Array {
  const logits = output(out, 'logits');
  const T = defined(logits.dims[1], 'sequence axis');
  return (logits.data as Float32Array).slice((row * T + T - 1) * V, (row * T + T) * V);
}
const argmax = (x: Float32Array) => x.reduce((best, v, i) => (v > (x[best] ?? -Infinity) ? i : best), 0);

const singleTurn = defined(golden.prompts[0], 'first prompt');
const threeTurns = defined(golden.prompts.find((q) => q.history.length === 2), 'three-turn prompt');

async function runAlone(x: Float32Array): Promise<Outputs> {
  const n = x.length / D;
  return decoder.run({
    inputs_embeds: float(x, [1, n, D]), attention_mask: int64(Array(n).fill(1), [1, n]),
    position_ids: int64(range(0, n), [1, n]), ...pastFeeds(null, 1),
  });
}

async function stepAlone(previous: Outputs, id: number, pastLen: number): Promise<Outputs> {
  return decoder.run({
    inputs_embeds: float(await embedIds([id]), [1, 1, D]),
    attention_mask: int64(Array(pastLen + 1).fill(1), [1, pastLen + 1]),
    position_ids: int64([pastLen], [1, 1]), ...pastFeeds(previous, 1),
  });
}

describe('mini model graphs', () => {
  it('exposes the input and output names of the model-directory contract', () => {
    expect(vision.inputNames).toEqual(['pixel_values']);
    expect(vision.outputNames).toEqual(['image_embeds']);
    expect(embed.inputNames).toEqual(['input_ids']);
    expect(embed.outputNames).toEqual(['inputs_embeds']);
    const layers = range(0, L);
    expect(decoder.inputNames).toEqual(['inputs_embeds', 'attention_mask', 'position_ids',
      ...layers.flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])]);
    expect(decoder.outputNames).toEqual(['logits', ...layers.flatMap((i) => [`present.${i}.key`, `present.${i}.value`])]);
  });

  it('vision gives the reference image embeddings for a batch of two images', async () => {
    const [a, b] = [defined(golden.images[0], 'image 0'), defined(golden.images[1], 'image 1')];
    const pa = f32(a.pixel_values);
    const pixels = new Float32Array(pa.length * 2);
    pixels.set(pa);
    pixels.set(f32(b.pixel_values), pa.length);
    const S: number = config.vision.image_size;
    const embeds = output(await vision.run({ pixel_values: float(pixels, [2, 3, S, S]) }), 'image_embeds');
    expect(embeds.dims).toEqual([2, config.vision.tokens, D]);
    const data = embeds.data as Float32Array;
    const n = data.length / 2;
    expect(relativeError(data.slice(0, n), f32(a.image_embeds))).toBeLessThan(1e-4);
    expect(relativeError(data.slice(n), f32(b.image_embeds))).toBeLessThan(1e-4);
  });

  it('first step with zero-length pasts gives the reference logits; the KV cache reproduces greedy ids', async () => {
    for (const p of [singleTurn, threeTurns]) {
      let T = (await promptEmbeds(p)).length / D;
      let out = await runAlone(await promptEmbeds(p));
      expect(output(out, 'logits').dims).toEqual([1, T, V]);
      expect(output(out, 'present.0.key').dims).toEqual([1, H, T, HD]);
      expect(relativeError(lastRow(out, 0), f32(p.first_logits))).toBeLessThan(1e-4);
      const ids: number[] = [];
      while (ids.length < p.greedy_ids.length) {
        const next = argmax(lastRow(out, 0));
        ids.push(next);
        if (next === EOS) break;
        out = await stepAlone(out, next, T);
        T += 1;
      }
      expect(ids).toEqual(p.greedy_ids);
    }
  });

  it('a left-padded batch of two prompts matches each prompt run alone, at prefill and at the next step', async () => {
    const xs = [await promptEmbeds(singleTurn), await promptEmbeds(threeTurns)];
    const lens = xs.map((x) => x.length / D);
    const T = Math.max(...lens);
    const batchX = new Float32Array(2 * T * D);
    const masks: number[][] = [];
    const pos: number[] = [];
    xs.forEach((x, row) => {
      const pad = T - x.length / D;
      batchX.set(x, (row * T + pad) * D);
      masks.push(range(0, T).map((t) => (t < pad ? 0 : 1)));
      pos.push(...range(0, T).map((t) => Math.max(0, t - pad)));
    });
    const batched = await decoder.run({
      inputs_embeds: float(batchX, [2, T, D]), attention_mask: int64(masks.flat(), [2, T]),
      position_ids: int64(pos, [2, T]), ...pastFeeds(null, 2),
    });
    const nextIds = [argmax(lastRow(batched, 0)), argmax(lastRow(batched, 1))];
    const nextX = new Float32Array(2 * D);
    for (const [row, id] of nextIds.entries()) nextX.set(await embedIds([id]), row * D);
    const batchedNext = await decoder.run({
      inputs_embeds: float(nextX, [2, 1, D]),
      attention_mask: int64(masks.flatMap((m) => [...m, 1]), [2, T + 1]),
      position_ids: int64(lens, [2, 1]), ...pastFeeds(batched, 2),
    });
    for (const [row, x] of xs.entries()) {
      const alone = await runAlone(x);
      expect(relativeError(lastRow(batched, row), lastRow(alone, 0))).toBeLessThan(1e-4);
      const aloneNext = await stepAlone(alone, defined(nextIds[row], 'next id'), x.length / D);
      expect(relativeError(lastRow(batchedNext, row), lastRow(aloneNext, 0))).toBeLessThan(1e-4);
    }
  });

  it('a fully padded row stays finite instead of turning into NaN', async () => {
    const out = await decoder.run({
      inputs_embeds: float(new Float32Array(2 * D).fill(0.5), [1, 2, D]),
      attention_mask: int64([0, 0], [1, 2]), position_ids: int64([0, 0], [1, 2]), ...pastFeeds(null, 1),
    });
    expect((output(out, 'logits').data as Float32Array).every(Number.isFinite)).toBe(true);
  });
});
