import type { Message } from 'discord.js';
import { message } from '../../src/bot/messages.ts';
import type { BotReply, InputImage } from '../../src/bot/types.ts';
import { type Delivered, deliver, LiveReply } from '../kit/live-reply.ts';
import { textTooLong } from '../kit/text-limit.ts';
import { chainRoot, decodeMessage, looksBlank, pickAttachment, stripMention } from './decode.ts';
import { downloadAttachment } from './download.ts';
import { DEFAULT_UPLOAD_LIMIT, NO_PINGS, encodeReply, notDelivered, preview } from './encode.ts';
import type { Handling } from './handling.ts';
import type { AttachmentRef } from './types.ts';

/** A reply to a message Discord hid from the bot: said so, never answered about the conversation's last image. */
export const CANNOT_SEE_REPLIED =
  'I cannot see the message you replied to: Discord shows me only messages that mention me. To ask about its ' +
  'image, right-click (or long-press) that message → Apps → "Ask about this image", or attach the image to ' +
  'your message.';

/**
 * Whether a message is for the bot: a DM, a mention, or any message in a configured channel (or its threads).
 * Other bots are answered only when `answerBots` says so: two bots answering each other would never stop.
 */
export function isForBot(msg: Message, botId: string, channels: readonly string[], answerBots = false): boolean {
  if (msg.author.id === botId || (msg.author.bot && !answerBots)) return false;
  const isDirect = !msg.inGuild();
  const mentionsBot = msg.mentions.users.has(botId);
  const parentId = msg.channel.isThread() ? msg.channel.parentId : null;
  const inAnswerChannel = channels.includes(msg.channelId) || (parentId !== null && channels.includes(parentId));
  return isDirect || mentionsBot || inAnswerChannel;
}

/**
 * The image a message brings: its own attachment, else one on the message it replies to; 'unseen' when that
 * message is gone or Discord showed it blank. A reply to the bot's own answer brings none: it continues the
 * conversation about the image the answer was about, not about the annotated copy.
 */
async function findAttachment(msg: Message, botId: string): Promise<AttachmentRef | 'unseen' | undefined> {
  const own = pickAttachment(msg);
  if (own || !msg.reference?.messageId) return own;
  let replied: Message;
  try {
    replied = await msg.fetchReference();
  } catch {
    return 'unseen';
  }
  if (replied.author.id === botId) return undefined;
  return looksBlank(replied) ? 'unseen' : pickAttachment(replied);
}

/** A mention or DM: its queue place and the answer streamed by editing one reply, split when long. */
export async function handleMessage(msg: Message, botId: string, h: Handling): Promise<void> {
  const request = decodeMessage(msg, botId, h.commands, await chainRoot(msg));
  // Discord sends an event once: journaled before anything else, so a kill from here on still reaches this
  // user (a refusal included: after a restart they hear their question was lost).
  const ticket = h.journal.hold(request, { kind: 'message', channel: msg.channelId, asked: msg.id });
  const onError = (error: unknown, step: string) =>
    h.log.warn({ err: error, step }, 'discord: answer not delivered that way');
  const apologise = (reason: string) => msg.reply({ content: notDelivered(reason), allowedMentions: NO_PINGS });
  /** The request leaves the journal once its user heard back; a reply that reached no one is delivered later. */
  const settle = (delivered: Delivered, reply: BotReply): void => {
    if (delivered !== 'lost') {
      ticket.done();
      return;
    }
    h.log.warn({ message: msg.id }, 'discord: answer not delivered; delivering again later');
    ticket.undelivered(reply);
  };
  /** A refusal, delivered as an answer is: posted, else apologised for, else journaled to be posted again. */
  const refuse = async (text: string): Promise<void> => {
    const reply: BotReply = { kind: 'user-error', text };
    const post = () => msg.reply({ ...encodeReply(reply, DEFAULT_UPLOAD_LIMIT).first, allowedMentions: NO_PINGS });
    settle(await deliver({ post, apologise, onError }), reply);
  };
  const tooLong = textTooLong(stripMention(msg.content, botId));
  if (tooLong !== undefined) return refuse(tooLong);
  const attachment = await findAttachment(msg, botId);
  if (attachment === 'unseen') return refuse(CANNOT_SEE_REPLIED);
  let image: InputImage | undefined;
  if (attachment) {
    const downloaded = await downloadAttachment(attachment, h.downloadLimits);
    if (!downloaded.ok) return refuse(downloaded.text);
    image = downloaded.image;
  }
  ticket.ready({ ...request, ...(image ? { image } : {}) });
  if (msg.channel.isSendable()) void msg.channel.sendTyping().catch(() => undefined);

  // The reply message, once the first streamed text has created it; later text edits it.
  const answer: { message?: Message } = {};
  const show = async (content: string): Promise<void> => {
    const options = { content, allowedMentions: NO_PINGS };
    if (answer.message) {
      await answer.message.edit(options);
      return;
    }
    answer.message = await msg.reply(options);
    ticket.moved({ reply: answer.message.id });
  };
  const live = new LiveReply({
    budget: h.edits,
    lane: msg.channelId,
    show: (text) => show(preview(text)),
    onError: (error) => h.log.warn({ err: error }, 'discord: streaming edit failed'),
  });
  const reply = await h.run(
    { ...request, image },
    { onText: (text) => live.update(text), onQueued: (position) => live.update(message('queued', { position })) },
    { imageBytes: DEFAULT_UPLOAD_LIMIT },
  );
  await live.finish();

  const encoded = encodeReply(reply, DEFAULT_UPLOAD_LIMIT);
  const first = { ...encoded.first, allowedMentions: NO_PINGS };
  const shown = answer.message;
  const delivered = await deliver({
    ...(shown
      ? {
          edit: async () => {
            await h.edits.take(msg.channelId, { urgent: true });
            await shown.edit(first);
          },
        }
      : {}),
    post: () => msg.reply(first),
    apologise,
    onError,
  });
  // The answer went out as a new reply: the one that could not be edited would otherwise show a stale state.
  if (delivered === 'posted' && shown) await shown.delete().catch((error: unknown) => onError(error, 'delete'));
  settle(delivered, reply);
  if (delivered === 'apologised' || delivered === 'lost' || !msg.channel.isSendable()) return;
  const channel = msg.channel;
  for (const content of encoded.rest) {
    const post = () => channel.send({ content, allowedMentions: NO_PINGS });
    const sent = await deliver({ post, apologise, onError });
    if (sent !== 'posted') return;
  }
}
