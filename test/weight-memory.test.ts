import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_FILES } from '../src/inference/sessions.ts';
import { KEEP_FP16, planFp16Weights } from '../src/inference/weight-memory.ts';
import { makeFixture, relativeError, removeDir, ROOT, runExport, tempDir } from './helpers/official-export.ts';

const GiB = 2 ** 30;

/** The decoder's first-step logits for a short prompt, with zero-length pasts. */
async function firstLogits(session: ort.InferenceSession, hidden: number, layers: number, heads: number): Promise<Float32Array> {
  const t = 5;
  const embeds = Float32Array.from({ length: t * hidden }, (_, i) => Math.sin(i * 0.37));
  const feeds: Record<string, ort.Tensor> = {
    inputs_embeds: new ort.Tensor('float32', embeds, [1, t, hidden]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(t).fill(1n), [1, t]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: t }, (_, i) => BigInt(i)), [1, t]),
  };
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, hidden / heads]);
  }
  const out = await session.run(feeds);
  return (out.logits!.data as Float32Array).slice(-out.logits!.dims[2]!);
}

describe('fp16 exports too large to widen keep their weights in fp16', () => {
  let work: string;
  let fp16Dir: string;
  let fp32Dir: string;

  beforeAll(() => {
    work = tempDir('weight-memory-');
    makeFixture(join(work, 'files'));
    fp16Dir = join(work, 'fp16');
    fp32Dir = join(work, 'fp32');
    for (const [dir, flags] of [[fp16Dir, ['--dtype', 'fp16']], [fp32Dir, []], [join(work, 'int4'), ['--dtype', 'fp16', '--quantize', 'int4']]] as const) {
      expect(runExport(join(work, 'files'), dir, [...flags]).status).toBe(0);
    }
  }, 120_000);
  afterAll(() => removeDir(work));

  it('widens every graph when the machine has room, and keeps the fp16 matmul weights of a model that would not fit', async () => {
    expect((await planFp16Weights(fp16Dir, SESSION_FILES, 64 * GiB)).keep).toEqual([]);
    const tight = await planFp16Weights(fp16Dir, SESSION_FILES, 1024);
    expect(tight.keep.sort()).toEqual(['decoder', 'embedTokens', 'vision']);
    // an int4 decoder holds packed integers: only its ViT and embedding table are fp16
    expect((await planFp16Weights(join(work, 'int4'), SESSION_FILES, 1024)).keep.sort()).toEqual(['embedTokens', 'vision']);
    // fp32 exports and the project's own models have nothing to keep
    expect((await planFp16Weights(fp32Dir, SESSION_FILES, 1024)).keep).toEqual([]);
    expect((await planFp16Weights(join(ROOT, 'models/default'), SESSION_FILES, 1024)).keep).toEqual([]);
    // the widened size counts each fp16 graph twice
    expect(tight.widenedBytes).toBeGreaterThan(1.9 * readFileSync(join(fp16Dir, 'decoder.onnx')).length);
  });

  it('answers as the widened graph does', async () => {
    const llm = JSON.parse(readFileSync(join(fp16Dir, 'model.json'), 'utf8')).llm;
    const base = { executionProviders: ['cpu'], intraOpNumThreads: 1 };
    const widened = await ort.InferenceSession.create(join(fp16Dir, 'decoder.onnx'), base);
    const kept = await ort.InferenceSession.create(join(fp16Dir, 'decoder.onnx'), { ...base, ...KEEP_FP16 });
    const [a, b] = [await firstLogits(widened, llm.hidden_size, llm.layers, llm.heads), await firstLogits(kept, llm.hidden_size, llm.layers, llm.heads)];
    expect(relativeError(b, a)).toBeLessThan(1e-6);
    await Promise.all([widened.release(), kept.release()]);
  });
});
