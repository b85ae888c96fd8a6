import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Entity, ImageSize } from '../grounding/types.ts';
import type { GenerateRequest, GenerateResult, TaskId } from '../inference/types.ts';
import { parseAnswer } from '../grounding/parse.ts';
import { gridToPixels } from '../grounding/scale.ts';
import { InputError } from '../inference/errors.ts';
import type { EvalCase, LoadedCase } from './cases.ts';
import { promptFor, type PromptOptions } from './prompts.ts';
import { type Counts, type ObjectVocabulary, scoreCaption, scoreDetection, scoreExact, scoreGrounding, scoreRefer, vocabularyOf } from './score.ts';

/** Greedy and short, as the paper evaluates (it uses 20 new tokens for a box); answers that list every object
 * (detection, caption, grounding: about 30 tokens an object) get the model's own max_new_tokens instead. */
export const EVAL_MAX_NEW_TOKENS = 64;
const LISTING_TASKS: ReadonlySet<string> = new Set(['detection', 'caption', 'grounding']);

/** What evaluation needs of the engine (the real Engine, or a stand-in in tests). */
export interface EvalEngine {
  generate(request: GenerateRequest): Promise<GenerateResult>;
  forget(conversation: string): void;
}

export type CaseScore = { correct: boolean } | Counts;

/** One line of the predictions file: the case as given, what was asked, what came back, how it scored. */
export type Prediction = EvalCase & {
  line: number;
  prompt: { task: TaskId; question: string };
  raw: string;
  /** The answer's text for people (box tokens removed). */
  answer_text: string;
  /** Entities in pixels of the image, exactly `grid / 100 * size` (unrounded, as scored). */
  entities: Entity[];
  /** The same entities on the model's 100-grid, as it wrote them. */
  grid_entities: Entity[];
  image_size: ImageSize;
  score: CaseScore;
  /** Set when this case could not run (unreadable image, input the model refused); it then scores as wrong. */
  error?: string;
};

/** Width and height as the image is shown, EXIF rotation applied (boxes are given in those pixels). */
async function orientedSize(bytes: Uint8Array): Promise<ImageSize> {
  const meta = await sharp(bytes).metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  return turned ? { width: meta.height!, height: meta.width! } : { width: meta.width!, height: meta.height! };
}

function scoreCase(c: EvalCase, raw: string, entities: Entity[], text: string, size: ImageSize, vocabulary: ObjectVocabulary): CaseScore {
  switch (c.task) {
    case 'refer':
      return { correct: scoreRefer(raw, c.box, size) };
    case 'identify':
    case 'vqa':
      return { correct: scoreExact(text, c.answer) };
    case 'detection':
      return scoreDetection(entities, c.boxes);
    case 'caption':
      return { correct: scoreCaption(text, c.objects, vocabulary) };
    case 'grounding':
      return scoreGrounding(entities, c.objects);
  }
}

/** How a case that could not run scores: wrong, and every true box missed. */
function missed(c: EvalCase): CaseScore {
  if (c.task === 'detection') return { tp: 0, fp: 0, fn: c.boxes.length };
  if (c.task === 'grounding') return { tp: 0, fp: 0, fn: c.objects.length };
  return { correct: false };
}

/** Caption objects are recognised with the colour and shape words of every true caption in the set. */
function captionVocabulary(cases: readonly LoadedCase[]): ObjectVocabulary {
  return vocabularyOf(cases.flatMap(({ case: c }) => (c.task === 'caption' ? c.objects : c.task === 'grounding' ? c.objects.map((o) => o.phrase) : [])));
}

/** Runs every case through the engine one at a time (greedy), scoring each as the paper's code would. */
export async function evaluate(
  cases: readonly LoadedCase[],
  engine: EvalEngine,
  options: PromptOptions & { onCase?: (p: Prediction, index: number) => void | Promise<void> } = {},
): Promise<Prediction[]> {
  const vocabulary = captionVocabulary(cases);
  const predictions: Prediction[] = [];
  for (const [index, loaded] of cases.entries()) {
    const c = loaded.case;
    const conversation = `eval-${index}`;
    let prediction: Prediction;
    try {
      const image = await readFile(loaded.imagePath);
      const size = await orientedSize(image);
      const prompt = promptFor(c, size, options);
      const result = await engine.generate({
        conversation, image, history: [], ...prompt,
        generation: LISTING_TASKS.has(c.task) ? { doSample: false } : { doSample: false, maxNewTokens: EVAL_MAX_NEW_TOKENS },
      });
      const parsed = parseAnswer(result.raw);
      const entities = parsed.entities.map((e) => ({ phrase: e.phrase, boxes: e.boxes.map((b) => gridToPixels(b, size)) }));
      const score = scoreCase(c, result.raw, entities, parsed.text, size, vocabulary);
      prediction = { ...c, line: loaded.line, prompt, raw: result.raw, answer_text: parsed.text, entities, grid_entities: parsed.entities, image_size: size, score };
    } catch (err) {
      if (!isCaseError(err)) throw err;
      const message = err instanceof InputError ? err.message : `cannot read image ${c.image}`;
      prediction = { ...c, line: loaded.line, prompt: { task: c.task, question: '' }, raw: '', answer_text: '', entities: [], grid_entities: [], image_size: { width: 0, height: 0 }, score: missed(c), error: message };
    } finally {
      engine.forget(conversation);
    }
    predictions.push(prediction);
    await options.onCase?.(prediction, index);
  }
  return predictions;
}

/** Errors that belong to one case (a missing or broken image, input the model refuses); others stop the run. */
function isCaseError(err: unknown): boolean {
  if (err instanceof InputError) return true;
  const code = (err as NodeJS.ErrnoException).code;
  const sharpFailure = err instanceof Error && /unsupported image format|Input buffer|corrupt/i.test(err.message);
  return code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES' || sharpFailure;
}
