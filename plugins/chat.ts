import { identifyQuestion } from '../src/grounding/format.ts';
import { splitTaskTag } from '../src/grounding/task-tag.ts';
import { definePlugin } from '../src/bot/plugin.ts';
import { boxNamed, labelledWith } from './labels.ts';

/** A grid box written as the model reads it, `{<10><20><30><40>}`: passed to the model as typed. */
const GRID_BOX = /\{<\d+><\d+><\d+><\d+>\}/;

/**
 * Free conversation about the image. A leading task tag picks a task (`[refer] the red circle`), answered and
 * drawn as that task's command would; with `[identify]` the rest is a box the way /identify takes it (`#2`,
 * pixels, percentages) or the model's own `{<x1><y1><x2><y2>}`.
 */
export default definePlugin({
  name: 'chat',
  description: 'Talk about the image; start with [refer], [detect], [vqa]... to pick a task',
  usesImage: true,
  options: [{ name: 'text', type: 'text', description: 'What you want to say or ask', required: true }],
  run: ({ args, resolveBox }) => {
    const { task = 'chat', text } = splitTaskTag(args.text);
    if (task !== 'identify' || GRID_BOX.test(text)) return { ask: { task, question: text } };
    const box = resolveBox(text);
    if (!box.ok) return { refuse: box.error, context: box.context };
    return { ask: { task, question: identifyQuestion(box.box.grid) } };
  },
  present: (answer, { args, resolveBox }) => {
    const { task, text } = splitTaskTag(args.text);
    if (task === 'refer') return labelledWith(answer, text);
    const box = task === 'identify' && !GRID_BOX.test(text) ? resolveBox(text) : undefined;
    return box?.ok ? boxNamed(answer, box.box.pixels) : { text: answer.text, entities: answer.entities };
  },
});
