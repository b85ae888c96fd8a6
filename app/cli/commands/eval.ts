import { open, type FileHandle } from 'node:fs/promises';
import { type Parsed, runCommandLine, UsageError } from '../command-line.ts';
import { Engine } from '../../../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR } from '../../../src/inference/model-dir.ts';
import type { Device } from '../../../src/inference/sessions.ts';
import { loadCases } from '../../../src/eval/cases.ts';
import { evaluate } from '../../../src/eval/run.ts';
import { formatTable, summarize } from '../../../src/eval/summary.ts';

export const summary = 'eval --data FILE.jsonl [--model DIR] [--predictions OUT.jsonl] [--json]: score a model on a labelled set';

const LINE = {
  name: 'eval',
  usage: 'minigpt-bot eval --data FILE.jsonl [--model DIR] [--predictions OUT.jsonl] [--json] [--limit N]\n'
    + '                 [--refcoco-prompt] [--device cpu|webgpu|cuda] [--threads N]',
  options: {
    data: { type: 'string' },
    model: { type: 'string' },
    predictions: { type: 'string' },
    json: { type: 'boolean' },
    limit: { type: 'string' },
    'refcoco-prompt': { type: 'boolean' },
    device: { type: 'string' },
    threads: { type: 'string' },
  },
  help: `One case per line; image paths are relative to the data file; boxes are [x1, y1, x2, y2] in pixels:
  {"image": "a.png", "task": "refer", "text": "the red circle", "box": [x1, y1, x2, y2]}
  {"image": "a.png", "task": "identify", "box": [...], "answer": "red circle"}
  {"image": "a.png", "task": "vqa", "text": "how many stars are there?", "answer": "3"}
  {"image": "a.png", "task": "detection", "text": "circles", "boxes": [[...], ...]}
  {"image": "a.png", "task": "caption", "objects": ["red circle", "blue star"]}
  {"image": "a.png", "task": "grounding", "objects": [{"phrase": "red circle", "box": [...]}]}

Each case runs greedy (at most 64 new tokens; detection, caption and grounding: the model's max_new_tokens) with the task's official text: refer → the phrase (with
--refcoco-prompt: "give me the location of {phrase}"), identify → "what is this {<x1><y1><x2><y2>}" (the box
on the 100-grid, int(c / size * 100)), vqa → the question, detection → the text, caption → "briefly describe
this image.", grounding → "describe this image in detail".

Scoring follows the paper's code: refer is right when the answer starts with a box whose pixels (grid / 100 ×
width, height) have IoU > 0.5 with the truth, areas counted as (x2 - x1 + 1) × (y2 - y1 + 1); identify and vqa
by exact match after lower-casing and trimming (a final full stop ignored); detection by precision, recall
and F1 of boxes matched one-to-one at IoU > 0.5; caption right when the "colour shape" objects it names equal
the true ones as a multiset; grounding by F1 of (phrase, box) pairs (phrases compared without a leading
article). --predictions writes each case with the prompt, the raw answer, its entities in pixels and on the
grid, and its score.

RefCOCO / RefCOCO+ / RefCOCOg: for each referring sentence of a split (refs(unc).p or refs(umd).p, joined with
instances.json by ann_id), write {"image": "<COCO image path>", "task": "refer", "text": "<sentence>", "box":
[x, y, x + w, y + h]} from the annotation's bbox [x, y, w, h], then run with --refcoco-prompt and a model
directory exported from the official checkpoint.`,
} as const;

const DEVICES: readonly string[] = ['cpu', 'webgpu', 'cuda'];
const PROGRESS_EVERY = 25;

/** Only the first sentence of a longer explanation: the line stays one line. */
const firstSentence = (message: string): string => message.split('\n')[0]!.split(/\.\s/)[0]!.replace(/\.$/, '');

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, evaluateCommand);
}

async function evaluateCommand({ values }: Parsed<typeof LINE.options>): Promise<number> {
  if (!values.data) throw new UsageError('--data FILE.jsonl is required');
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit must be a whole number above 0, got "${values.limit}"`);
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new UsageError(`--threads must be a whole number above 0, got "${values.threads}"`);
  if (values.device !== undefined && !DEVICES.includes(values.device)) throw new UsageError(`--device must be one of ${DEVICES.join(', ')}`);

  const loaded = await loadCases(values.data);
  if (!loaded.ok) throw new UsageError(firstSentence(loaded.message));
  const cases = loaded.value.slice(0, limit);

  let out: FileHandle | undefined;
  if (values.predictions) {
    try {
      out = await open(values.predictions, 'w');
    } catch (err) {
      throw new UsageError(`cannot write ${values.predictions}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const modelDir = values.model ?? DEFAULT_MODEL_DIR;
  let engine: Engine;
  try {
    engine = await Engine.load(modelDir, { device: values.device as Device | undefined, threads });
  } catch (err) {
    await out?.close();
    throw new UsageError(firstSentence((err as Error).message));
  }
  const started = performance.now();
  try {
    const predictions = await evaluate(cases, engine, {
      refcocoPrompt: values['refcoco-prompt'] === true,
      onCase: async (p, i) => {
        await out?.appendFile(`${JSON.stringify(p)}\n`);
        if (!values.json && (i + 1) % PROGRESS_EVERY === 0) console.error(`${i + 1}/${cases.length} cases`);
      },
    });
    const tasks = summarize(predictions);
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    if (values.json) console.log(JSON.stringify({ model: engine.model.name, model_dir: modelDir, data: values.data, cases: cases.length, seconds, tasks }));
    else console.log(`${formatTable(tasks)}\n\n${cases.length} cases on ${engine.model.name} in ${seconds} s`);
    return 0;
  } finally {
    await out?.close();
    await engine.close();
  }
}
