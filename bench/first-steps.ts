/**
 * What the engine computes for one question about one image, for comparing with a reference outside it
 * (models/tools/check_full.py):
 *
 *   npx tsx bench/first-steps.ts --model DIR --image PATH --task T --question TEXT --steps N --out FILE.json [--threads N]
 *
 * Writes {image_embeds, first_logits, greedy_ids, seconds}: the image embeddings, the scores of the first new
 * token straight from the prefill, and N greedy ids (EOS held back until N, so every run compares N ids).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { preprocessImage } from '../src/inference/preprocess.ts';
import type { TaskId } from '../src/inference/types.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    image: { type: 'string' },
    task: { type: 'string', default: 'vqa' },
    question: { type: 'string' },
    steps: { type: 'string', default: '16' },
    out: { type: 'string' },
    threads: { type: 'string' },
  },
});
if (!values.model || !values.image || !values.question || !values.out) {
  console.error('usage: npx tsx bench/first-steps.ts --model DIR --image PATH --task T --question TEXT --steps N --out FILE.json');
  process.exit(2);
}
const steps = Number(values.steps);
const began = performance.now();
const core = await InferenceCore.load(values.model, { threads: values.threads ? Number(values.threads) : undefined, warn: (l) => console.error(l) });
const loaded = performance.now();
const image = readFileSync(values.image);
const vision = core.model.vision;
const prepared = await preprocessImage(image, { size: vision.image_size, mean: vision.mean, std: vision.std });
const imageEmbeds = await core.encodeImage(prepared.pixelValues);
const task = await core.start({
  conversation: 'check', image, history: [], task: values.task as TaskId, question: values.question,
  generation: { doSample: false, repetitionPenalty: 1, minLength: steps, maxNewTokens: steps },
});
const firstLogits = Array.from(task.firstLogits);
while (!(await task.step()));
writeFileSync(values.out, JSON.stringify({
  image_embeds: Array.from(imageEmbeds),
  first_logits: firstLogits,
  greedy_ids: task.generated,
  seconds: { load: (loaded - began) / 1000, run: (performance.now() - loaded) / 1000 },
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
}));
await core.close();
