import { definePlugin } from '../src/bot/plugin.ts';

/** Object detection: every instance of the named objects, each boxed and numbered. */
export default definePlugin({
  name: 'detect',
  description: 'Box every instance of the objects you name',
  usesImage: true,
  options: [{ name: 'objects', type: 'text', description: 'What to look for, e.g. "circle, square"', required: true }],
  run: ({ args }) => ({ ask: { task: 'detection', question: args.objects } }),
});
