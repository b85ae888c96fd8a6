/** What every path is given: the model's prompt ids for a fixed conversation and the engine's pixel values. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readModelInfo, type ModelInfo } from '../src/inference/model-config.ts';
import { preprocessImage } from '../src/inference/preprocess.ts';
import { buildPrompt } from '../src/inference/prompt.ts';
import { PromptTokenizer } from '../src/inference/tokenizer.ts';
import type { TaskId } from '../src/inference/types.ts';
import type { TurnIds } from './protocol.ts';

export const IMAGES = 'test/fixtures/images';
const IMAGE_FILES = ['photo-640x480.jpg', 'wide-300x200.png', 'large-1024x768.png', 'banner-1200x300.jpg', 'gray-97x131.png', 'icon-64x48.png', 'tall-256x640-rgba.png'];

/** The measured conversation: an image, a first question and a follow-up on it. */
export const TASK: TaskId = 'vqa';
export const QUESTIONS = ['what color is the circle in the picture?', 'and where is the square?'];

const CONCURRENT_QUESTIONS = [
  ['vqa', 'what color is the circle?'], ['caption', 'describe the picture briefly'], ['refer', 'the red square'],
  ['grounding', 'describe this image in detail'], ['identify', '{<10><20><60><70>}'], ['detection', 'circle'],
  ['chat', 'how many shapes are there?'], ['vqa', 'which shape is the largest?'],
] as const;

export interface BenchSetup {
  model: ModelInfo;
  tokenizer: PromptTokenizer;
  image: string;
  /** File of the image's pixel values as the engine prepares them, raw float32. */
  pixels: string;
}

export async function prepare(modelDir: string, workDir: string): Promise<BenchSetup> {
  if (!existsSync(join(modelDir, 'model.json'))) throw new Error(`${modelDir} is not a model directory (no model.json)`);
  const model = await readModelInfo(modelDir);
  const tokenizer = await PromptTokenizer.load(modelDir);
  const image = join(IMAGES, IMAGE_FILES[0]!);
  const { vision } = model;
  const prepared = await preprocessImage(await readFile(image), { size: vision.image_size, mean: vision.mean, std: vision.std });
  const pixels = join(workDir, `${model.name}.pixels.f32`);
  await writeFile(pixels, new Uint8Array(prepared.pixelValues.buffer, prepared.pixelValues.byteOffset, prepared.pixelValues.byteLength));
  return { model, tokenizer, image, pixels };
}

/** The ids of each turn, the follow-up carrying the first answer as the engine's history would. */
export function turnIds(setup: BenchSetup, firstAnswer: string): TurnIds[] {
  const first = buildPrompt(setup.model, setup.tokenizer, [], TASK, QUESTIONS[0]!);
  const second = buildPrompt(setup.model, setup.tokenizer, [{ task: TASK, question: QUESTIONS[0]!, answer: firstAnswer }], TASK, QUESTIONS[1]!);
  return [first, second];
}

/** N different conversations: images and questions cycle through the fixtures. */
export function concurrentAsks(n: number): { image: string; task: TaskId; question: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const [task, question] = CONCURRENT_QUESTIONS[i % CONCURRENT_QUESTIONS.length]!;
    return { image: join(IMAGES, IMAGE_FILES[i % IMAGE_FILES.length]!), task, question };
  });
}
