import type { AttachmentPayload } from 'discord.js';
import type { BotReply } from '../../src/bot/types.ts';
import { MESSAGE_LIMIT, splitMessage } from './split.ts';

/** Discord's default upload limit, for payloads that do not carry the interaction's own. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

/** Replies never ping anyone: the bot answers, it does not summon. */
export const NO_PINGS = { parse: [], repliedUser: false } as const;

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

/** Turns the framework's reply into Discord messages: split text, and the image if it fits the upload limit. */
export function encodeReply(reply: BotReply, uploadLimit: number): EncodedReply {
  const imageFits = reply.image !== undefined && reply.image.bytes.byteLength <= uploadLimit;
  const note = reply.image && !imageFits ? '\n(The annotated image is over the upload limit, so it is not attached.)' : '';
  const text = `${reply.text}${note}`.trim() || '(The model gave an empty answer.)';
  const [first = '', ...rest] = splitMessage(text);
  const files: AttachmentPayload[] =
    reply.image && imageFits ? [{ attachment: Buffer.from(reply.image.bytes), name: reply.image.name }] : [];
  return { first: { content: first, files }, rest };
}
