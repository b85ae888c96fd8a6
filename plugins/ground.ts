import { z } from 'zod';
import { definePlugin } from '../src/bot/plugin.ts';

/** The text the official demo sends for a grounded caption. */
export const Config = z.strictObject({ prompt: z.string().min(1).default('describe this image in detail') });
export type Config = z.infer<typeof Config>;

/** A detailed description whose objects are boxed and numbered on the image. */
export default definePlugin({
  name: 'ground',
  description: 'Describe the image in detail and box the things mentioned',
  usesImage: true,
  config: Config,
  options: [{ name: 'prompt', type: 'text', description: 'Your own wording for the request (optional)' }],
  run: ({ args, config }) => ({ ask: { task: 'grounding', question: args.prompt ?? config.prompt } }),
});
