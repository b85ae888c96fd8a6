import type { Message } from 'discord.js';
import type { InputImage } from '../../src/bot/types.ts';
import { decodeMessage, pickAttachment } from './decode.ts';
import { downloadAttachment } from './download.ts';
import { DEFAULT_UPLOAD_LIMIT, NO_PINGS, encodeReply, preview } from './encode.ts';
import type { Handling } from './handling.ts';
import { LiveText } from './throttle.ts';

/** Whether a message is for the bot: a DM, a mention, or any message in a configured channel (or its threads). */
export function isForBot(msg: Message, botId: string, channels: readonly string[]): boolean {
  if (msg.author.bot || msg.author.id === botId) return false;
  const isDirect = !msg.inGuild();
  const mentionsBot = msg.mentions.users.has(botId);
  const parentId = msg.channel.isThread() ? msg.channel.parentId : null;
  const inAnswerChannel = channels.includes(msg.channelId) || (parentId !== null && channels.includes(parentId));
  return isDirect || mentionsBot || inAnswerChannel;
}

/** The image a message brings: its own attachment, else one on the message it replies to. */
async function findAttachment(msg: Message) {
  const own = pickAttachment(msg);
  if (own || !msg.reference?.messageId) return own;
  try {
    return pickAttachment(await msg.fetchReference());
  } catch {
    // The replied-to message is gone or unreadable: carry on without its image.
    return undefined;
  }
}

/** A mention or DM: answered as a reply, streamed by editing that reply, split when long. */
export async function handleMessage(msg: Message, botId: string, h: Handling): Promise<void> {
  const request = decodeMessage(msg, botId, h.chatTextOption);
  const attachment = await findAttachment(msg);
  let image: InputImage | undefined;
  if (attachment) {
    const downloaded = await downloadAttachment(attachment, h.downloadLimits);
    if (!downloaded.ok) {
      await msg.reply({ content: downloaded.text, allowedMentions: NO_PINGS });
      return;
    }
    image = downloaded.image;
  }
  if (msg.channel.isSendable()) void msg.channel.sendTyping().catch(() => undefined);

  // The reply message, once the first streamed text has created it; later text edits it.
  const answer: { message?: Message } = {};
  const show = async (content: string): Promise<void> => {
    const options = { content, allowedMentions: NO_PINGS };
    answer.message = answer.message ? await answer.message.edit(options) : await msg.reply(options);
  };
  const live = new LiveText(msg.channelId, h.throttle, (text) => show(preview(text)), (error) =>
    h.log.warn({ err: error }, 'discord: streaming edit failed'),
  );
  const reply = await h.run({ ...request, image }, { onText: (text) => live.update(text) }, { imageBytes: DEFAULT_UPLOAD_LIMIT });
  await live.finish();

  const encoded = encodeReply(reply, DEFAULT_UPLOAD_LIMIT);
  const first = { ...encoded.first, allowedMentions: NO_PINGS };
  if (answer.message) {
    await h.throttle.wait(msg.channelId);
    await answer.message.edit(first);
  } else {
    await msg.reply(first);
  }
  for (const content of encoded.rest) {
    if (msg.channel.isSendable()) await msg.channel.send({ content, allowedMentions: NO_PINGS });
  }
}
