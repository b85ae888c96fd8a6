import type { BotRequest, CommandSpec, ConversationKey } from '../../src/bot/types.ts';
import type { SlackFile, SlackMessageEvent } from './types.ts';

/** Free text with no command goes to this plugin (it reads a leading `[task]` tag itself). */
export const CHAT_COMMAND = 'chat';

/** A box typed as pixels `x1,y1,x2,y2`, percentages `10%,20%,30%,40%`, or an earlier answer's `#2`. */
const BOX_AT_START = /^(#\d+|-?[\d.]+%?(?:\s*,\s*-?[\d.]+%?){3})(?=\s|$)/;
/** `name=value` for an option typed as a number or a box. */
const NAMED_VALUE = /(?:^|\s)([a-z][\w-]*)=(\S+)/gi;
const MENTION = /<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g;

export function conversationKey(team: string, channel: string, thread: string | undefined): ConversationKey {
  return thread === undefined
    ? { platform: 'slack', workspace: team, channel }
    : { platform: 'slack', workspace: team, channel, thread };
}

/** The thread a message belongs to: its parent's ts, or its own when it starts one. */
export function threadOf(event: Pick<SlackMessageEvent, 'ts' | 'thread_ts'>): string {
  return event.thread_ts ?? event.ts;
}

/** Removes mentions of the bot and turns Slack's escapes back into the characters the user typed. */
export function plainText(text: string, botUserId: string | undefined): string {
  return text
    .replace(MENTION, (whole, id: string) => (id === botUserId ? ' ' : whole))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The first image among a message's files, or why there is none worth downloading. */
export function pickImageFile(files: readonly SlackFile[] | undefined): SlackFile | 'not-an-image' | undefined {
  if (!files || files.length === 0) return undefined;
  const image = files.find((f) => f.mimetype?.startsWith('image/') && f.url_private_download);
  return image ?? 'not-an-image';
}

/** Messages the bot answers: people's messages, plain or with files; not edits, joins or other bots. */
export function isPersonMessage(event: SlackMessageEvent): boolean {
  const plainOrFile = event.subtype === undefined || event.subtype === 'file_share';
  return plainOrFile && event.bot_id === undefined && event.user !== undefined;
}

/**
 * Spreads one line of text over a command's options: `name=value` for numbers and boxes, a leading box
 * (`10,20,30,40`, `#2`, percentages) for the box option, and the rest for the first text option.
 */
export function argsFromText(spec: CommandSpec | undefined, text: string): BotRequest['args'] {
  const args: BotRequest['args'] = {};
  if (!spec) return text ? { text } : {};
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
  return args;
}

/**
 * What a mention or DM asks for. Ordinary words are never taken for a command: a leading `/name` picks one, a
 * command name alone runs it (`reset`, `help`), and anything else is chat.
 */
export function commandFromText(
  commands: readonly CommandSpec[],
  text: string,
): { command: string; args: BotRequest['args'] } {
  const byName = new Map(commands.map((c) => [c.name, c]));
  const slashed = /^\/([a-z][\w-]*)(?:\s+|$)(.*)$/i.exec(text);
  const named = slashed?.[1] ? byName.get(slashed[1].toLowerCase()) : undefined;
  if (named) return { command: named.name, args: argsFromText(named, slashed?.[2]?.trim() ?? '') };
  const bare = byName.get(text.toLowerCase());
  if (bare?.options.every((o) => !o.required || o.type === 'image')) return { command: bare.name, args: {} };
  return { command: CHAT_COMMAND, args: argsFromText(byName.get(CHAT_COMMAND), text) };
}
