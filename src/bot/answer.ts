import { parseAnswer } from '../grounding/parse.ts';
import { entitiesToPixels } from '../grounding/scale.ts';
import type { ImageSize } from '../grounding/types.ts';
import type { GenerateResult } from '../inference/types.ts';
import { annotateOffThread } from '../render/off-thread.ts';
import { describeAnswer } from '../render/describe.ts';
import { message } from './messages.ts';
import type { Answer, AnyContext, AnyPlugin } from './plugin.ts';
import type { BotReply, ReplyLimits } from './types.ts';

/** Tasks whose whole point is a box: an answer without one gets a warning rather than silence. */
const BOX_TASKS = new Set(['refer', 'detection']);

/** The model's raw text → what people get: numbered boxes drawn on the image and described in the text. */
export async function buildAnswerReply(
  plugin: AnyPlugin,
  ctx: AnyContext,
  ask: { task: Answer['task']; question: string },
  result: GenerateResult,
  image: Uint8Array,
  limits: ReplyLimits,
): Promise<{ reply: BotReply; answer: Answer }> {
  const size: ImageSize = result.imageSize;
  const parsed = parseAnswer(result.raw);
  const answer: Answer = {
    ...ask,
    raw: result.raw,
    text: parsed.text,
    entities: entitiesToPixels(parsed.entities, size),
    imageSize: size,
  };
  const shown = { ...answer, ...(plugin.present?.(answer, ctx) ?? {}) };
  const hasBoxes = shown.entities.some((e) => e.boxes.length > 0);
  const warnings = !hasBoxes && BOX_TASKS.has(ask.task) ? [message('no-box-found')] : [];
  if (result.cut) warnings.push(message('answer-cut'));
  const drawn = hasBoxes ? await annotateOffThread(image, shown.entities, { maxBytes: limits.imageBytes }) : undefined;
  if (drawn && drawn.fit.scale < 1) warnings.push(message('image-shrunk', { note: drawn.fit.note }));
  const text = [describeAnswer(shown.text, shown.entities), ...warnings].filter(Boolean).join('\n');
  return {
    answer: shown,
    reply: {
      kind: 'answer',
      text,
      image: drawn,
      raw: result.raw,
      entities: shown.entities,
      imageSize: size,
      task: ask.task,
      timings: result.timings,
      visionCached: result.visionCached,
    },
  };
}
