import { shownText } from '../../src/bot/reply-text.ts';
import { type AttachmentPayload, escapeMarkdown } from 'discord.js';
import type { BotReply } from '../../src/bot/types.ts';
import { characters, type MessageLimit, splitMessage } from '../kit/split.ts';

/** Discord's limit on a message's content, in characters. */
export const MESSAGE_LIMIT = 2000;
const DISCORD_MESSAGE: MessageLimit = { limit: MESSAGE_LIMIT, measure: characters };

/** Discord's default upload limit, for payloads that do not carry the interaction's own. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** Replies never ping anyone: the bot answers, it does not summon. */
export const NO_PINGS = { parse: [], repliedUser: false } as const;

/**
 * A refusal as Discord shows it: refusals repeat what was typed (a box, a number, a file name), so markdown in it
 * (masked links, headings, lists, code, bold) shows as typed instead of formatting the bot's message.
 */
export const refusalText = (text: string): string =>
  escapeMarkdown(text, { maskedLink: true, heading: true, bulletedList: true, numberedList: true });

/** What users read when an answer could not be posted at all. */
export const notDelivered = (reason: string): string =>
  `I could not post my answer here (${reason}). Please ask again.`;

export interface EncodedReply {
  /** The first message carries the image; the others are the rest of a long text. */
  first: { content: string; files: AttachmentPayload[] };
  rest: string[];
}

/** Streamed text fits one message: past the limit the end is cut, the final reply splits it properly. */
export function preview(text: string): string {
  const shown = text.trim() === '' ? '…' : text;
  return shown.length <= MESSAGE_LIMIT ? shown : `${shown.slice(0, MESSAGE_LIMIT - 1)}…`;
}

/**
 * Turns the framework's reply into Discord messages: split text, and the image if it fits the upload limit.
 * `prefix` (a mention of the asker) starts the first message; every part leaves room for it.
 */
export function encodeReply(reply: BotReply, uploadLimit: number, prefix = ''): EncodedReply {
  const imageFits = reply.image !== undefined && reply.image.bytes.byteLength <= uploadLimit;
  const note = reply.image && !imageFits ? '\n(The annotated image is over the upload limit, so it is not attached.)' : '';
  const shown = reply.kind === 'user-error' ? refusalText(reply.text) : shownText(reply);
  const text = `${shown}${note}`.trim() || '(The model gave an empty answer.)';
  const [head = '', ...rest] = splitMessage(text, { ...DISCORD_MESSAGE, limit: MESSAGE_LIMIT - prefix.length });
  const files: AttachmentPayload[] =
    reply.image && imageFits ? [{ attachment: Buffer.from(reply.image.bytes), name: reply.image.name }] : [];
  return { first: { content: `${prefix}${head}`, files }, rest };
}
