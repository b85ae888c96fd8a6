import type { BotRequest, CommandSpec } from '../../src/bot/types.ts';

/** Free text with no command goes to this plugin; it reads a leading `[task]` tag itself (`[refer] the dog`). */
export const CHAT_COMMAND = 'chat';

/** A box typed as pixels `x1,y1,x2,y2`, percentages `10%,20%,30%,40%`, or an earlier answer's `#2`. */
const BOX_AT_START = /^(#\d+|-?[\d.]+%?(?:\s*,\s*-?[\d.]+%?){3})(?=\s|$)/;
/** `name=value` for an option typed as a number or a box. */
const NAMED_VALUE = /(?:^|\s)([a-z][\w-]*)=(\S+)/gi;
const SLASHED = /^\/([a-z][\w-]*)(?:\s+|$)(.*)$/is;

export interface ParsedText {
  command: string;
  args: BotRequest['args'];
}

/**
 * Spreads one line of text over a command's options: `name=value` for numbers and boxes, a leading box
 * (`10,20,30,40`, `#2`, percentages) for the box option, and the rest for the first text option (or, for a
 * command without one, for the box option).
 */
export function argsFromText(spec: CommandSpec | undefined, text: string): BotRequest['args'] {
  const args: BotRequest['args'] = {};
  if (!spec) return {};
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  let rest = text.replace(NAMED_VALUE, (whole, name: string, value: string) => {
    const option = byName.get(name);
    if (option?.type === 'number') args[name] = Number.isFinite(Number(value)) ? Number(value) : value;
    else if (option?.type === 'box') args[name] = value;
    else return whole;
    return ' ';
  });
  rest = rest.trim();
  const box = spec.options.find((o) => o.type === 'box');
  const leadingBox = BOX_AT_START.exec(rest);
  if (box && args[box.name] === undefined && leadingBox?.[1]) {
    args[box.name] = leadingBox[1].replace(/\s+/g, '');
    rest = rest.slice(leadingBox[0].length).trim();
  }
  const textOption = spec.options.find((o) => o.type === 'text');
  if (textOption && rest) args[textOption.name] = rest;
  // With nowhere else to go, what was typed is the box, so a mistyped one is named back rather than called missing.
  else if (box && args[box.name] === undefined && rest) args[box.name] = rest;
  return args;
}

/**
 * What a typed line asks for, the same in the terminal, a Discord mention and a Slack mention: `/name args`
 * runs that command (an unknown name gets the framework's "no such command" reply), a command name alone runs
 * it when it needs no text (`reset`, `help`), and anything else, `[task] text` included, is chat.
 */
export function parseText(commands: readonly CommandSpec[], line: string): ParsedText {
  const text = line.trim();
  const byName = new Map(commands.map((c) => [c.name, c]));
  const slashed = SLASHED.exec(text);
  if (slashed) {
    const name = slashed[1]!.toLowerCase();
    return { command: name, args: argsFromText(byName.get(name), slashed[2]!.trim()) };
  }
  const bare = byName.get(text.toLowerCase());
  if (bare?.options.every((o) => !o.required || o.type === 'image')) return { command: bare.name, args: {} };
  return { command: CHAT_COMMAND, args: argsFromText(byName.get(CHAT_COMMAND), text) };
}
