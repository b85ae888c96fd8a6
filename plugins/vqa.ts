import { definePlugin } from '../src/bot/plugin.ts';

/** Visual question answering: a short answer to a question about the image. */
export default definePlugin({
  name: 'vqa',
  description: 'Answer a question about the image',
  usesImage: true,
  options: [{ name: 'question', type: 'text', description: 'What you want to know about the image', required: true }],
  run: ({ args }) => ({ ask: { task: 'vqa', question: args.question } }),
});
