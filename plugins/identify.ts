import { identifyQuestion } from '../src/grounding/format.ts';
import { definePlugin } from '../src/bot/plugin.ts';
import { boxNamed } from './labels.ts';

/** Referring expression generation: say what is inside a box the user points at. */
export default definePlugin({
  name: 'identify',
  description: 'Say what is inside a box of the image',
  usesImage: true,
  options: [
    { name: 'box', type: 'box', description: 'x1,y1,x2,y2 in pixels, 10%,20%,30%,40%, or #2 from the last answer', required: true },
  ],
  run: ({ args }) => ({ ask: { task: 'identify', question: identifyQuestion(args.box.grid) } }),
  // The answer is a phrase: draw the user's box with that phrase as its label.
  present: (answer, { args }) => boxNamed(answer, args.box.pixels),
});
