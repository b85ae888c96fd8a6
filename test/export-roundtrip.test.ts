import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { preprocessImage } from '../src/inference/preprocess.ts';
import { golden, goldenF32, imageBytes, MINI_NORM } from './helpers/mini-golden.ts';
import { PYTHON, relativeError, removeDir, ROOT, tempDir } from './helpers/official-export.ts';

const GREEDY = { doSample: false, repetitionPenalty: 1, minLength: 0, maxNewTokens: golden.greedy_max_new_tokens };

// models/mini written out as official-format files and exported again must still be models/mini: this is how
// the trained default model's quantized variants are made, so the path itself must not change the model.
describe('models/mini through official-format files and the exporter reproduces its goldens', () => {
  let work: string;
  let core: InferenceCore;
  beforeAll(async () => {
    work = tempDir('export-roundtrip-');
    const convert = ['-m', 'models.tools.official.from_model_dir', '--model', MINI_MODEL_DIR, '--out', join(work, 'files')];
    const out = execFileSync(PYTHON, convert, { cwd: ROOT, encoding: 'utf8' });
    const flags = out.split('models.tools.export ')[1]!.split(' --out')[0]!.split(' ');
    execFileSync(PYTHON, ['-m', 'models.tools.export', ...flags, '--out', join(work, 'model')], { cwd: ROOT, stdio: 'pipe' });
    core = await InferenceCore.load(join(work, 'model'), { threads: 1, maxConversations: 1 });
  }, 120_000);
  afterAll(async () => {
    await core?.close();
    removeDir(work);
  });

  it('image embeddings of every golden image', async () => {
    for (const image of golden.images) {
      const prepared = await preprocessImage(imageBytes(image.name), MINI_NORM);
      expect(relativeError(await core.encodeImage(prepared.pixelValues), goldenF32(image.image_embeds.file))).toBeLessThan(1e-4);
    }
  });

  it('first-step logits and greedy ids of single-turn golden prompts', async () => {
    const prompts = golden.prompts.filter((p) => p.history.length === 0).slice(0, 4);
    expect(prompts.length).toBeGreaterThan(0);
    for (const [i, p] of prompts.entries()) {
      const task = await core.start({ conversation: `rt-${i}`, image: imageBytes(p.image), history: [], task: p.task, question: p.question, generation: GREEDY });
      expect(relativeError(task.firstLogits, goldenF32(p.first_logits.file))).toBeLessThan(1e-4);
      while (!(await task.step()));
      expect(task.generated).toEqual(p.greedy_ids);
    }
  });
});
