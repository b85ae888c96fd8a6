import { shownText } from '../../src/bot/reply-text.ts';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { BotCore, ReplyLimits } from '../../src/bot/types.ts';
import { numberBoxes } from '../../src/grounding/numbering.ts';
import { colourFor, css } from '../../src/render/palette.ts';
import { sendJson, startEvents } from './http.ts';
import { readImageUrl, type ImageUrlLimits } from './image-url.ts';
import { TEXT_MAX_CHARS, textTooLong } from '../kit/text-limit.ts';

/** One question from the page: who asks (a virtual user), where (their direct chat or the shared channel), what. */
const AskBody = z.object({
  /** The browser's own id, kept in its storage: its conversations are its own and survive reloads. */
  browser: z.string().regex(/^[\w-]{8,64}$/),
  user: z.object({ id: z.string().regex(/^[\w-]{1,32}$/), name: z.string().max(64).optional() }),
  place: z.enum(['direct', 'shared']),
  command: z.string().min(1).max(32),
  args: z.record(z.string(), z.union([z.string(), z.number()])).prefault({}),
  /** A data URL, sent with the first question after an image is picked. */
  image: z.string().optional(),
});

export interface SandboxOptions {
  core: BotCore;
  images: ImageUrlLimits;
  reply: ReplyLimits;
}

/**
 * The command list as the page builds its buttons from it: the registry's, as Discord's slash commands are, and
 * the longest text its input takes (the chats' limit).
 */
export const commandList = (core: BotCore): unknown => ({ commands: core.commands(), textMaxChars: TEXT_MAX_CHARS });

/**
 * Runs a page's question through the bot and streams its progress as server-sent events: `queued`, `text`, then
 * one `reply` with the numbered boxes in the colours the annotated image uses.
 */
export function sandboxAsk(options: SandboxOptions) {
  return async (payload: unknown, res: ServerResponse): Promise<void> => {
    const parsed = AskBody.safeParse(payload);
    if (!parsed.success) return sendJson(res, 400, { error: `bad request: ${parsed.error.issues[0]!.message}` });
    const ask = parsed.data;
    // Typed text over the chats' limit is refused in their words, as is an image that cannot be read.
    const texts = Object.values(ask.args).filter((value) => typeof value === 'string');
    const tooLong = texts.map(textTooLong).find((text) => text !== undefined);
    const readable = tooLong === undefined && ask.image;
    const image = readable ? await readImageUrl(ask.image!, { ...options.images, hosts: [] }) : undefined;
    const refusal = tooLong ?? (image && !image.ok ? image.message : undefined);
    const send = startEvents(res);
    if (refusal !== undefined) {
      send({ type: 'reply', kind: 'user-error', text: refusal });
      return void res.end();
    }
    const channel = ask.place === 'shared' ? 'shared' : `direct-${ask.user.id}`;
    const reply = await options.core.handle(
      {
        key: { platform: 'web', workspace: ask.browser, channel },
        user: { id: ask.user.id, name: ask.user.name },
        command: ask.command,
        args: ask.args,
        image: image?.ok ? image.image : undefined,
      },
      { onText: (text) => send({ type: 'text', text }), onQueued: (position) => send({ type: 'queued', position }) },
      options.reply,
    );
    const boxes = numberBoxes(reply.entities ?? []).map((b) => ({ ...b, colour: css(colourFor(b.entityIndex).rgb) }));
    send({
      type: 'reply',
      kind: reply.kind,
      text: shownText(reply),
      task: reply.task,
      imageSize: reply.imageSize,
      boxes,
      image: reply.image && `data:${reply.image.mime};base64,${Buffer.from(reply.image.bytes).toString('base64')}`,
    });
    res.end();
  };
}
