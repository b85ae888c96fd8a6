import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { makeFixture, PYTHON, relativeError, removeDir, ROOT, runExport, tempDir } from './helpers/official-export.ts';

interface Case { x: number[]; expected: number[]; exact: number[]; max_weight_error: number; max_step: number }

describe('MatMulNBits weights written by quantize.py mean what ONNX Runtime reads', () => {
  let work: string;
  beforeAll(() => { work = tempDir('mmnb-'); });
  afterAll(() => removeDir(work));

  // K = 72: three blocks of 32, the last one padded; an odd block count packs two zero points per byte unevenly.
  for (const bits of [4, 8]) {
    it(`int${bits}: ORT's product equals numpy's product with the dequantized weights`, async () => {
      const dir = join(work, `b${bits}`);
      execFileSync(PYTHON, ['-m', 'models.tools.tests.matmulnbits_case', dir, String(bits), '72', '40'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
      const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as Case;
      expect(c.max_weight_error).toBeLessThanOrEqual(c.max_step / 2 + 1e-6); // rounding, never a whole step
      const session = await ort.InferenceSession.create(join(dir, 'mmnb.onnx'), { intraOpNumThreads: 1 });
      const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(c.x), [3, 72]) });
      const y = out.y!.data as Float32Array;
      expect(relativeError(y, c.expected)).toBeLessThan(1e-5);
      // and the quantized product is near the unquantized one, closer for 8 bits
      expect(relativeError(y, c.exact)).toBeLessThan(bits === 8 ? 0.01 : 0.1);
      await session.release();
    });
  }
});

const GREEDY = { doSample: false, repetitionPenalty: 1, minLength: 0, maxNewTokens: 8 };
const IMAGE = 'test/fixtures/images/photo-640x480.jpg';

describe('quantized and fp16 exports of the miniature official checkpoints', () => {
  let work: string;
  const answers: Record<string, { logits: Float32Array; ids: number[] }> = {};

  beforeAll(async () => {
    work = tempDir('export-variants-');
    makeFixture(join(work, 'files'));
    for (const [name, flags] of [['fp32', []], ['fp16', ['--dtype', 'fp16']], ['int8', ['--quantize', 'int8']], ['int4', ['--quantize', 'int4']]] as const) {
      const run = runExport(join(work, 'files'), join(work, name), [...flags]);
      expect(run.stderr).toBe('');
      const core = await InferenceCore.load(join(work, name), { threads: 1, maxConversations: 1 });
      const task = await core.start({ conversation: 'q', image: readFileSync(join(ROOT, IMAGE)), history: [], task: 'refer', question: 'the red circle', generation: GREEDY });
      while (!(await task.step()));
      answers[name] = { logits: task.firstLogits, ids: task.generated };
      await core.close();
    }
  }, 240_000);
  afterAll(() => removeDir(work));

  it('fp16 weights stay close to fp32 and give the same greedy ids', () => {
    expect(relativeError(answers.fp16!.logits, answers.fp32!.logits)).toBeLessThan(5e-3);
    expect(answers.fp16!.ids).toEqual(answers.fp32!.ids);
  });

  it('int8 is closer to fp32 than int4, and both run on the CPU execution provider', () => {
    const e8 = relativeError(answers.int8!.logits, answers.fp32!.logits);
    const e4 = relativeError(answers.int4!.logits, answers.fp32!.logits);
    expect(e8).toBeLessThan(0.02);
    expect(e4).toBeLessThan(0.25);
    expect(e8).toBeLessThan(e4);
  });

  it('quantized graphs are smaller on disk', () => {
    const size = (name: string) => ['decoder.onnx'].map((f) => readFileSync(join(work, name, f)).length).reduce((a, b) => a + b);
    expect(size('fp16')).toBeLessThan(size('fp32') * 0.6);
    expect(size('int8')).toBeLessThan(size('fp32') * 0.4);
    expect(size('int4')).toBeLessThan(size('int8'));
  });
});
