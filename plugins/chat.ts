import { identifyQuestion } from '../src/grounding/format.ts';
import { splitTaskTag } from '../src/grounding/task-tag.ts';
import { definePlugin } from '../src/bot/plugin.ts';

/**
 * Free conversation about the image. A leading task tag picks a task (`[refer] the red circle`); with
 * `[identify]` the rest may be a box the way /identify takes it (`[identify] #2`).
 */
export default definePlugin({
  name: 'chat',
  description: 'Talk about the image; start with [refer], [detect], [vqa]... to pick a task',
  usesImage: true,
  options: [{ name: 'text', type: 'text', description: 'What you want to say or ask', required: true }],
  run: ({ args, imageSize, resolveBox }) => {
    const { task = 'chat', text } = splitTaskTag(args.text);
    const box = task === 'identify' && imageSize ? resolveBox(text) : undefined;
    const question = box?.ok ? identifyQuestion(box.box.grid) : text;
    return { ask: { task, question } };
  },
});
