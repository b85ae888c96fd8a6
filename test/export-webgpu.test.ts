import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, relativeError, removeDir, runExport, tempDir } from './helpers/official-export.ts';
import { runGqa, runPlain } from '../bench/decoder-runs.ts';

const SHAPE = { layers: 2, heads: 4, headDim: 32, hidden: 128, vocab: 1000 };
const MAX_LENGTH = 64;

// GroupQueryAttention, MatMulNBits and the Skip/SimplifiedLayerNormalization ops all have CPU kernels, so the
// --target webgpu graph is checked here against the plain int4 decoder of the same checkpoint: same quantized
// weights, but packed QKV, fused rotary and an in-place max-length KV cache. (Its GPU speed is measured apart.)
describe('--target webgpu decoder on the CPU execution provider', () => {
  let work: string;
  let chunks: Float32Array[];
  let plain: Float32Array[];
  beforeAll(async () => {
    work = tempDir('export-webgpu-');
    makeFixture(join(work, 'files'));
    for (const [name, flags] of [['int4', ['--quantize', 'int4']], ['gpu32', ['--target', 'webgpu', '--webgpu-activations', 'fp32']], ['gpu16', ['--target', 'webgpu']]] as const) {
      const run = runExport(join(work, 'files'), join(work, name), [...flags]);
      expect(run.stderr).toBe('');
    }
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return (seed / 2147483647 - 0.5) * 2;
    };
    chunks = [6, 1, 1, 1].map((t) => Float32Array.from({ length: t * SHAPE.hidden }, random)); // prefill, then 3 steps
    plain = (await runPlain(join(work, 'int4', 'decoder.onnx'), SHAPE, chunks)).logits;
  }, 180_000);
  afterAll(() => removeDir(work));

  it('with fp32 activations it equals the plain int4 decoder, prefill and every cached step', async () => {
    const gqa = (await runGqa(join(work, 'gpu32', 'decoder.onnx'), SHAPE, chunks, MAX_LENGTH)).logits;
    gqa.forEach((logits, i) => {
      expect(relativeError(logits, plain[i]!)).toBeLessThan(1e-5);
    });
  });

  it('with fp16 activations (what WebGPU runs) it stays within fp16 rounding', async () => {
    const gqa = (await runGqa(join(work, 'gpu16', 'decoder.onnx'), SHAPE, chunks, MAX_LENGTH)).logits;
    // fp16 rounding of activations that MatMulNBits then quantizes to int8 blocks: measured 1.7e-2 here
    gqa.forEach((logits, i) => {
      expect(relativeError(logits, plain[i]!)).toBeLessThan(3e-2);
    });
  });

  it('is the builder-style graph: packed QKV, GroupQueryAttention with rotary, skip RMS norms, fp16', () => {
    const graph = readFileSync(join(work, 'gpu16', 'decoder.onnx')).toString('latin1');
    for (const op of ['GroupQueryAttention', 'MatMulNBits', 'SkipSimplifiedLayerNormalization', 'qkv_proj', 'cos_cache']) expect(graph).toContain(op);
    expect(graph).not.toContain('q_proj.qweight');
  });
});
