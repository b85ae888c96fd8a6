import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { preprocessImage } from '../src/inference/preprocess.ts';
import type { TaskId } from '../src/inference/types.ts';
import {
  FIXTURE_IMAGE_SIZE, makeFixture, relativeError, removeDir, ROOT, runExport, runReference, tempDir,
  type ReferenceCase, type ReferenceResult,
} from './helpers/official-export.ts';

const STEPS = 8;
const CASES: ReferenceCase[] = [
  { image: 'test/fixtures/images/photo-640x480.jpg', task: 'refer', question: 'give me the location of the red circle', steps: STEPS },
  { image: 'test/fixtures/images/wide-300x200.png', task: 'vqa', question: 'what colour is the square?', steps: STEPS },
];
const GREEDY = { doSample: false, repetitionPenalty: 1, minLength: 0, maxNewTokens: STEPS };

// Both peft spellings, both shard formats, and ln_vision absent (identity) and present.
const VARIANTS = [
  { name: 'safetensors shards, peft 0.2.0 LoRA keys, no ln_vision', fixture: [] as string[] },
  { name: '.bin shards, lora_A.default.weight keys, trained ln_vision', fixture: ['--llama-format', 'bin', '--lora-spelling', 'default', '--ln-vision', '--seed', '11'] },
];

describe.each(VARIANTS)('export of miniature official checkpoints ($name) equals an independent PyTorch forward', ({ fixture }) => {
  let work: string;
  let core: InferenceCore;
  let reference: ReferenceResult[];
  let log: string;

  beforeAll(async () => {
    work = tempDir('export-parity-');
    makeFixture(join(work, 'files'), fixture);
    const run = runExport(join(work, 'files'), join(work, 'model'));
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    log = run.stdout;
    reference = runReference(join(work, 'files'), CASES, work);
    core = await InferenceCore.load(join(work, 'model'), { threads: 1, maxConversations: 1 });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    removeDir(work);
  });

  it('reads every size from the files and says where ln_vision came from', () => {
    const model = JSON.parse(readFileSync(join(work, 'model', 'model.json'), 'utf8'));
    expect(model.vision).toMatchObject({ image_size: FIXTURE_IMAGE_SIZE, patch_size: 14, width: 176, heads: 2, layers: 2, mlp: 768, tokens: 16 });
    expect(model.llm).toMatchObject({ hidden_size: 128, layers: 2, heads: 4, head_dim: 32, mlp: 344, vocab_size: 1000, rms_norm_eps: 1e-5 });
    expect(model.generation).toMatchObject({ do_sample: true, temperature: 0.6, top_p: 0.9, top_k: 50, repetition_penalty: 1.05 });
    expect(readFileSync(join(work, 'model', 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'models/tools/tokenizer.json'), 'utf8'));
    const withLn = fixture.includes('--ln-vision');
    expect(log).toContain(withLn ? 'ln_vision: affine from the MiniGPT-v2 checkpoint' : 'ln_vision: not in the checkpoint');
    expect(log).toContain('lora: r 8, alpha 16 (checkpoint config.model.lora_alpha), scaling 2');
  });

  CASES.forEach((c, i) => {
    it(`case ${i} (${c.task}): image embeddings and first-step logits within 1e-4, identical greedy ids`, async () => {
      const ref = reference[i]!;
      expect(ref.min_margin).toBeGreaterThan(1e-3); // a near-tie would make greedy parity a coin toss
      const model = JSON.parse(readFileSync(join(work, 'model', 'model.json'), 'utf8'));
      const prepared = await preprocessImage(readFileSync(join(ROOT, c.image)), { size: model.vision.image_size, mean: model.vision.mean, std: model.vision.std });
      expect(relativeError(await core.encodeImage(prepared.pixelValues), ref.image_embeds)).toBeLessThan(1e-4);
      const task = await core.start({
        conversation: `case-${i}`, image: readFileSync(join(ROOT, c.image)), history: [], task: c.task as TaskId, question: c.question, generation: GREEDY,
      });
      expect(relativeError(task.firstLogits, ref.first_logits)).toBeLessThan(1e-4);
      while (!(await task.step()));
      expect(task.generated).toEqual(ref.greedy_ids);
    });
  });
});
