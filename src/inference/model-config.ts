import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { GenerationConfig, TaskId } from './types.ts';

const positiveInt = z.number().int().positive();
const triple = z.tuple([z.number(), z.number(), z.number()]);

/** model.json as documented in models/README.md; keys keep the file's snake_case so both sides read alike. */
export const ModelInfo = z.object({
  format: z.literal('minigpt-bot/1'),
  name: z.string().min(1),
  description: z.string(),
  /** The world a narrow model knows (the default model: scenes of coloured shapes); absent for a general model. */
  domain: z.string().min(1).optional(),
  vision: z.object({
    image_size: positiveInt,
    patch_size: positiveInt,
    width: positiveInt,
    layers: positiveInt,
    heads: positiveInt,
    mlp: positiveInt,
    concat: positiveInt,
    tokens: positiveInt,
    mean: triple,
    std: triple,
    resample: z.literal('bicubic'),
  }),
  llm: z.object({
    hidden_size: positiveInt,
    layers: positiveInt,
    heads: positiveInt,
    head_dim: positiveInt,
    mlp: positiveInt,
    vocab_size: positiveInt,
    rope_theta: z.number().positive(),
    rms_norm_eps: z.number().positive(),
    max_positions: positiveInt,
  }),
  tokens: z.object({ unk: z.number().int(), bos: z.number().int(), eos: z.number().int() }),
  prompt: z.object({
    first: z.string().includes('<ImageHere>').includes('{question}'),
    turn: z.string().includes('{question}').includes('{answer}'),
    tasks: z.object({
      vqa: z.string(),
      caption: z.string(),
      grounding: z.string(),
      refer: z.string(),
      identify: z.string(),
      detection: z.string(),
      chat: z.string(),
    }),
  }),
  generation: z.object({
    max_new_tokens: positiveInt,
    do_sample: z.boolean(),
    temperature: z.number().nonnegative(),
    top_k: z.number().int().nonnegative(),
    top_p: z.number().gt(0).lte(1),
    repetition_penalty: z.number().positive(),
    min_length: z.number().int().nonnegative(),
    context_limit: positiveInt,
    /** Earlier turns a prompt carries at most (the latest); null: as many as context_limit holds. */
    history_turns: positiveInt.nullable(),
  }),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

/** Parses model.json text; the error names every bad key so a broken export is easy to fix. */
export function parseModelInfo(text: string, source = 'model.json'): ModelInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ModelInfo.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${source}: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export async function readModelInfo(modelDir: string): Promise<ModelInfo> {
  const path = join(modelDir, 'model.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`no model at ${modelDir} (cannot read model.json)`);
  }
  return parseModelInfo(text, path);
}

export function taskTag(model: ModelInfo, task: TaskId): string {
  return model.prompt.tasks[task];
}

/** The model's generation defaults with the caller's overrides on top. */
export function generationConfig(model: ModelInfo, overrides: Partial<GenerationConfig> = {}): GenerationConfig {
  const g = model.generation;
  return {
    maxNewTokens: g.max_new_tokens,
    doSample: g.do_sample,
    temperature: g.temperature,
    topK: g.top_k,
    topP: g.top_p,
    repetitionPenalty: g.repetition_penalty,
    minLength: g.min_length,
    ...overrides,
  };
}
