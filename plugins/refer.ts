import { definePlugin } from '../src/bot/plugin.ts';
import { labelledWith } from './labels.ts';

/** Referring expression comprehension: find the thing a phrase describes. */
export default definePlugin({
  name: 'refer',
  description: 'Find and box the object a phrase describes',
  usesImage: true,
  options: [{ name: 'phrase', type: 'text', description: 'The object to find, e.g. "the red circle"', required: true }],
  run: ({ args }) => ({ ask: { task: 'refer', question: args.phrase } }),
  // The model answers a bare box; label it with what was asked for so the picture says what it shows.
  present: (answer, { args }) => labelledWith(answer, args.phrase),
});
