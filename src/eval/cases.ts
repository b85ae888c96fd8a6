import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { Result } from '../grounding/types.ts';

const box = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const text = z.string().trim().min(1);
const common = { image: text, id: z.union([z.string(), z.number()]).optional() };

/** One line of an eval file; boxes are [x1, y1, x2, y2] in pixels of that image. */
export const EvalCase = z.discriminatedUnion('task', [
  z.object({ ...common, task: z.literal('refer'), text, box }),
  z.object({ ...common, task: z.literal('identify'), box, answer: text }),
  z.object({ ...common, task: z.literal('vqa'), text, answer: text }),
  z.object({ ...common, task: z.literal('detection'), text, boxes: z.array(box) }),
  z.object({ ...common, task: z.literal('caption'), objects: z.array(text) }),
  z.object({ ...common, task: z.literal('grounding'), objects: z.array(z.object({ phrase: text, box })) }),
]);
export type EvalCase = z.infer<typeof EvalCase>;
export type EvalTask = EvalCase['task'];
export const EVAL_TASKS: readonly EvalTask[] = ['refer', 'identify', 'vqa', 'detection', 'caption', 'grounding'];

/** A case plus where its image is on disk (the file's `image` is relative to the eval file). */
export interface LoadedCase {
  line: number;
  case: EvalCase;
  imagePath: string;
}

/** Reads a JSONL eval file; the first bad line is reported with its number and what is wrong. */
export async function loadCases(file: string): Promise<Result<LoadedCase[], 'unreadable' | 'bad-line' | 'empty'>> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, error: 'unreadable', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  const cases: LoadedCase[] = [];
  for (const [index, raw] of content.split('\n').entries()) {
    if (raw.trim() === '') continue;
    const line = index + 1;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return { ok: false, error: 'bad-line', message: `${file}:${line}: not valid JSON` };
    }
    const parsed = EvalCase.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { ok: false, error: 'bad-line', message: `${file}:${line}: ${issue.path.join('.') || 'case'}: ${issue.message}` };
    }
    cases.push({ line, case: parsed.data, imagePath: resolve(dirname(file), parsed.data.image) });
  }
  if (cases.length === 0) return { ok: false, error: 'empty', message: `${file} has no cases` };
  return { ok: true, value: cases };
}
