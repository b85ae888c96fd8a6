import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { message } from '../../src/bot/messages.ts';
import type { BotReply, InputImage } from '../../src/bot/types.ts';
import { decodeInteraction } from './decode.ts';
import { downloadAttachment, precheck } from './download.ts';
import { DEFAULT_UPLOAD_LIMIT, NO_PINGS, encodeReply, preview } from './encode.ts';
import type { Handling } from './handling.ts';
import { LiveText } from './throttle.ts';

/**
 * A slash command: refusals that need no download are answered at once (ephemeral); everything else is deferred
 * first, so Discord's 3-second window never depends on the model, then answered by editing the deferred reply.
 */
export async function handleInteraction(interaction: ChatInputCommandInteraction, h: Handling): Promise<void> {
  // Counted from receipt rather than from the id's timestamp: the gateway delivers within moments, and a clock
  // that disagrees with Discord's must not expire every answer.
  const deadline = Date.now() + h.config.interactionDeadlineMs;
  const { request, attachment } = decodeInteraction(interaction);
  const checked = attachment ? precheck(attachment, h.downloadLimits) : { ok: true as const };
  if (!checked.ok) {
    await interaction.reply({ content: checked.text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    return;
  }
  await interaction.deferReply();
  const pastDeadline = (): boolean => Date.now() > deadline;

  let image: InputImage | undefined;
  if (attachment) {
    const downloaded = await downloadAttachment(attachment, h.downloadLimits);
    if (!downloaded.ok) return refuse(interaction, downloaded.text);
    image = downloaded.image;
  }

  const live = new LiveText(
    interaction.channelId,
    h.throttle,
    (text) => interaction.editReply({ content: preview(text), allowedMentions: NO_PINGS }),
    (error) => h.log.warn({ err: error, command: request.command }, 'discord: streaming edit failed'),
  );
  const uploadLimit = interaction.attachmentSizeLimit ?? DEFAULT_UPLOAD_LIMIT;
  const reply = await h.run({ ...request, image }, {
    onText: (text) => !pastDeadline() && live.update(text),
    onQueued: (position) => !pastDeadline() && live.update(message('queued', { position })),
  }, { imageBytes: uploadLimit });
  await live.finish();

  if (reply.kind === 'user-error' && !pastDeadline()) return refuse(interaction, reply.text);
  if (pastDeadline()) return postInChannel(interaction, reply, uploadLimit, h);
  const encoded = encodeReply(reply, uploadLimit);
  await h.throttle.wait(interaction.channelId);
  await interaction.editReply({ ...encoded.first, allowedMentions: NO_PINGS });
  for (const content of encoded.rest) await interaction.followUp({ content, allowedMentions: NO_PINGS });
}

/** A refusal after deferring: the public "thinking…" reply goes away and only the asker sees why. */
async function refuse(interaction: ChatInputCommandInteraction, text: string): Promise<void> {
  await interaction.followUp({ content: text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  await interaction.deleteReply();
}

/** The interaction token no longer allows an edit: answer with a normal message that names the asker. */
async function postInChannel(
  interaction: ChatInputCommandInteraction,
  reply: BotReply,
  uploadLimit: number,
  h: Handling,
): Promise<void> {
  const channel = interaction.channel ?? (await interaction.client.channels.fetch(interaction.channelId));
  if (!channel?.isSendable()) {
    h.log.warn({ command: interaction.commandName }, 'discord: answer came after the interaction expired, no channel to post in');
    return;
  }
  const encoded = encodeReply(reply, uploadLimit);
  const mention = { users: [interaction.user.id] };
  await channel.send({ ...encoded.first, content: `<@${interaction.user.id}> ${encoded.first.content}`, allowedMentions: mention });
  for (const content of encoded.rest) await channel.send({ content, allowedMentions: NO_PINGS });
}
