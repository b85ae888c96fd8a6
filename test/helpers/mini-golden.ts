import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseModelInfo } from '../../src/inference/model-config.ts';
import { MINI_MODEL_DIR } from '../../src/inference/model-dir.ts';
import type { Turn, TaskId } from '../../src/inference/types.ts';

/** Outputs of the Python reference for models/mini (test/fixtures/golden/mini.json, see its `about`). */
export interface MiniGolden {
  greedy_max_new_tokens: number;
  images: {
    name: string;
    width: number;
    height: number;
    mode: string;
    resize: Record<string, string>;
    pixel_values: { file: string; shape: number[] };
    image_embeds: { file: string; shape: number[] };
  }[];
  prompts: {
    image: string;
    history: Turn[];
    task: TaskId;
    question: string;
    seg0_ids: number[];
    seg1_ids: number[];
    first_logits: { file: string; shape: number[] };
    greedy_ids: number[];
  }[];
  tokenizer: { text: string; ids: number[]; decoded: string }[];
}

export const GOLDEN_DIR = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
export const IMAGES_DIR = fileURLToPath(new URL('../fixtures/images', import.meta.url));

export const golden = JSON.parse(readFileSync(`${GOLDEN_DIR}/mini.json`, 'utf8')) as MiniGolden;

const miniVision = parseModelInfo(readFileSync(`${MINI_MODEL_DIR}/model.json`, 'utf8')).vision;
export const MINI_NORM = { size: miniVision.image_size, mean: miniVision.mean, std: miniVision.std };

export function goldenF32(rel: string): Float32Array {
  const bytes = readFileSync(`${GOLDEN_DIR}/${rel}`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function imageBytes(name: string): Uint8Array {
  return readFileSync(`${IMAGES_DIR}/${name}`);
}
