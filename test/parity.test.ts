import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { preprocessImage } from '../src/inference/preprocess.ts';
import { golden, goldenF32, imageBytes, MINI_NORM } from './helpers/mini-golden.ts';
import { relativeError } from './helpers/relative-error.ts';

const GREEDY = { doSample: false, repetitionPenalty: 1, minLength: 0, maxNewTokens: golden.greedy_max_new_tokens };

let core: InferenceCore;
beforeAll(async () => {
  core = await InferenceCore.load(MINI_MODEL_DIR, { threads: 1, maxConversations: 1 });
});
afterAll(() => core.close());

describe('parity with the PyTorch reference on models/mini', () => {
  for (const image of golden.images) {
    it(`image embeddings of ${image.name}`, async () => {
      const prepared = await preprocessImage(imageBytes(image.name), MINI_NORM);
      const embeds = await core.encodeImage(prepared.pixelValues);
      expect(relativeError(embeds, goldenF32(image.image_embeds.file))).toBeLessThan(1e-4);
    });
  }

  for (const [i, p] of golden.prompts.entries()) {
    it(`prompt ${i} (${p.task}, ${p.history.length} earlier turns): first-step logits and greedy ids`, async () => {
      const request = { conversation: `parity-${i}`, image: imageBytes(p.image), history: p.history, task: p.task, question: p.question, generation: GREEDY };
      const task = await core.start(request);
      expect(relativeError(task.firstLogits, goldenF32(p.first_logits.file))).toBeLessThan(1e-4);
      while (!(await task.step()));
      expect(task.generated).toEqual(p.greedy_ids);
    });
  }
});
