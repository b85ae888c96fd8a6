import { z } from 'zod';
import { definePlugin } from '../src/bot/plugin.ts';

/** The text the official demo sends for a caption when the user adds none. */
export const Config = z.strictObject({ prompt: z.string().min(1).default('briefly describe this image.') });
export type Config = z.infer<typeof Config>;

/** A one-sentence caption; the user may steer it with their own wording. */
export default definePlugin({
  name: 'caption',
  description: 'Describe the image in a sentence',
  usesImage: true,
  config: Config,
  options: [{ name: 'prompt', type: 'text', description: 'Your own wording for the request (optional)' }],
  run: ({ args, config }) => ({ ask: { task: 'caption', question: args.prompt ?? config.prompt } }),
});
