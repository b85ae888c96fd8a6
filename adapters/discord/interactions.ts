import { MessageFlags, type ChatInputCommandInteraction, type ModalSubmitInteraction } from 'discord.js';
import { message } from '../../src/bot/messages.ts';
import type { BotReply, BotRequest, InputImage } from '../../src/bot/types.ts';
import type { Ticket } from '../kit/journal.ts';
import { type Delivered, deliver, LiveReply } from '../kit/live-reply.ts';
import { decodeInteraction } from './decode.ts';
import { downloadAttachment, precheck } from './download.ts';
import { DEFAULT_UPLOAD_LIMIT, NO_PINGS, encodeReply, notDelivered, preview, refusalText } from './encode.ts';
import type { Handling } from './handling.ts';
import type { AttachmentRef } from './types.ts';

/** An interaction that asks the model: a slash command, or the question typed into "Ask about this image". */
export type AskingInteraction = ChatInputCommandInteraction | ModalSubmitInteraction;

/** A slash command, answered by `answerInteraction`. */
export function handleInteraction(interaction: ChatInputCommandInteraction, h: Handling): Promise<void> {
  const { request, attachment } = decodeInteraction(interaction);
  return answerInteraction(interaction, request, attachment, h);
}

/**
 * Refusals that need no download are answered at once (ephemeral); everything else is deferred first, so
 * Discord's 3-second window never depends on the model, then answered by editing the deferred reply.
 */
export async function answerInteraction(
  interaction: AskingInteraction,
  request: Omit<BotRequest, 'image'>,
  attachment: AttachmentRef | undefined,
  h: Handling,
): Promise<void> {
  // Counted from receipt rather than from the id's timestamp: the gateway delivers within moments, and a clock
  // that disagrees with Discord's must not expire every answer.
  const deadline = Date.now() + h.config.interactionDeadlineMs;
  const checked = attachment ? precheck(attachment, h.downloadLimits) : { ok: true as const };
  if (!checked.ok) {
    await interaction.reply({ content: refusalText(checked.text), flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    return;
  }
  const pastDeadline = (): boolean => Date.now() > deadline;
  // The channel (or thread) the interaction came from: the lane its edits share.
  const channelId = request.key.thread ?? request.key.channel;

  // The deferred reply says "thinking…" until edited: where it is, and for how long its token may edit it. It is
  // journaled before the deferral (a write of a few ms) and the download, so a kill at any point after the
  // deferral went out still reaches this user.
  const { token, user } = interaction;
  const place = { kind: 'interaction', channel: channelId, token, user: user.id };
  const ticket = attachment
    ? h.journal.hold(request, { ...place, expires: deadline })
    : h.journal.accept(request, { ...place, expires: deadline });
  try {
    await interaction.deferReply();
  } catch (error) {
    // Discord never showed "thinking…": there is nothing to answer in place of, and no token to answer with.
    ticket.done();
    throw error;
  }
  let image: InputImage | undefined;
  if (attachment) {
    const downloaded = await downloadAttachment(attachment, h.downloadLimits);
    if (!downloaded.ok) {
      await refuse(interaction, downloaded.text);
      return ticket.done();
    }
    image = downloaded.image;
    ticket.ready({ ...request, image });
  }

  const live = new LiveReply({
    budget: h.edits,
    lane: channelId,
    show: (text) => interaction.editReply({ content: preview(text), allowedMentions: NO_PINGS }),
    onError: (error) => h.log.warn({ err: error, command: request.command }, 'discord: streaming edit failed'),
  });
  const uploadLimit = interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT;
  const reply = await h.run({ ...request, image }, {
    onText: (text) => !pastDeadline() && live.update(text),
    onQueued: (position) => !pastDeadline() && live.update(message('queued', { position })),
  }, { imageBytes: uploadLimit });
  await live.finish();

  if (reply.kind === 'user-error' && !pastDeadline()) {
    await refuse(interaction, reply.text);
    return ticket.done();
  }
  if (pastDeadline()) {
    const late = await postInChannel(interaction, channelId, request.command, reply, uploadLimit, h);
    return finished(ticket, reply, late, h);
  }
  const encoded = encodeReply(reply, uploadLimit);
  const first = { ...encoded.first, allowedMentions: NO_PINGS };
  const onError = (error: unknown, step: string) =>
    h.log.warn({ err: error, command: request.command, step }, 'discord: answer not delivered that way');
  const apologise = (reason: string) =>
    interaction.followUp({ content: notDelivered(reason), allowedMentions: NO_PINGS });
  const delivered = await deliver({
    edit: async () => {
      await h.edits.take(channelId, { urgent: true });
      await interaction.editReply(first);
    },
    post: () => interaction.followUp(first),
    apologise,
    onError,
  });
  // The answer went out as a follow-up: the deferred reply would otherwise say "thinking…" for good.
  if (delivered === 'posted') await interaction.deleteReply().catch((error: unknown) => onError(error, 'delete'));
  finished(ticket, reply, delivered, h);
  if (delivered === 'apologised' || delivered === 'lost') return;
  for (const content of encoded.rest) {
    const post = () => interaction.followUp({ content, allowedMentions: NO_PINGS });
    const sent = await deliver({ post, apologise, onError });
    if (sent !== 'posted') return;
  }
}

/** A request leaves the journal once its user heard back; an answer that reached no one is delivered again later. */
function finished(ticket: Ticket, reply: BotReply, delivered: Delivered, h: Handling): void {
  if (delivered === 'lost') {
    h.log.warn({ request: ticket.id }, 'discord: answer not delivered; delivering again later');
    ticket.undelivered(reply);
    return;
  }
  ticket.done();
}

/** A refusal after deferring: the public "thinking…" reply goes away and only the asker sees why. */
async function refuse(interaction: AskingInteraction, text: string): Promise<void> {
  await interaction.followUp({ content: refusalText(text), flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  await interaction.deleteReply();
}

/** The interaction token no longer allows an edit: answer with a normal message that names the asker. */
async function postInChannel(
  interaction: AskingInteraction,
  channelId: string,
  command: string,
  reply: BotReply,
  uploadLimit: number,
  h: Handling,
): Promise<Delivered> {
  const channel = interaction.channel ?? (await interaction.client.channels.fetch(channelId));
  if (!channel?.isSendable()) {
    h.log.warn({ command }, 'discord: answer came after the interaction expired, no channel to post in');
    return 'lost';
  }
  const prefix = `<@${interaction.user.id}> `;
  const encoded = encodeReply(reply, uploadLimit, prefix);
  const mention = { users: [interaction.user.id] };
  const onError = (error: unknown, step: string) =>
    h.log.warn({ err: error, command, step }, 'discord: late answer not delivered that way');
  const apologise = (reason: string) =>
    channel.send({ content: `${prefix}${notDelivered(reason)}`, allowedMentions: mention });
  const post = () => channel.send({ ...encoded.first, allowedMentions: mention });
  const delivered = await deliver({ post, apologise, onError });
  if (delivered !== 'posted') return delivered;
  for (const content of encoded.rest) {
    const next = () => channel.send({ content, allowedMentions: NO_PINGS });
    const sent = await deliver({ post: next, apologise, onError });
    if (sent !== 'posted') break;
  }
  return delivered;
}
