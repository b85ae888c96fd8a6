import type { ConversationKey } from '../../src/bot/types.ts';
import { decodeEntities } from './escape.ts';
import type { SlackFile, SlackMessageEvent } from './types.ts';

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
  return decodeEntities(text.replace(MENTION, (whole, id: string) => (id === botUserId ? ' ' : whole)))
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
  return plainOrFile && !isFromBot(event) && event.user !== undefined;
}

/** Whether an app or bot user posted it: mentions from one are ignored unless configured, or bots loop. */
export function isFromBot(event: SlackMessageEvent): boolean {
  return event.bot_id !== undefined || event.subtype === 'bot_message';
}
