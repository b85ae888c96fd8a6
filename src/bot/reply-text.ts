import type { BotReply } from './types.ts';

/** What a chat shows of a reply: its text, and its notice below it. */
export function shownText(reply: BotReply): string {
  return reply.notice === undefined ? reply.text : `${reply.text}\n${reply.notice}`;
}
