import type { CommandSpec } from '../src/bot/types.ts';
import { definePlugin } from '../src/bot/plugin.ts';

const usage = (c: CommandSpec): string =>
  [`/${c.name}`, ...c.options.map((o) => (o.required ? `<${o.name}>` : `[${o.name}]`))].join(' ');

/** Lists every command with its options, from the same declarations the adapters register. */
export default definePlugin({
  name: 'help',
  description: 'List the commands',
  usesImage: false,
  options: [],
  run: ({ commands }) => ({
    info: [
      'Send an image, then ask about it. Boxes in answers are numbered: point at one with #2.',
      ...commands.map((c) => `${usage(c).padEnd(34)} ${c.description}`),
    ].join('\n'),
  }),
});
