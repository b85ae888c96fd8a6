import {
  ApplicationCommandOptionType,
  type Attachment,
  type ChatInputCommandInteraction,
  type Message,
  type TextBasedChannel,
} from 'discord.js';
import type { BotRequest, CommandSpec, ConversationKey } from '../../src/bot/types.ts';
import { parseText } from '../kit/grammar.ts';
import type { AttachmentRef } from './types.ts';

type ChannelLike = Pick<TextBasedChannel, 'id' | 'isThread'> & { parentId?: string | null };

/** Platform 'discord', workspace = guild (or 'dm'); in a thread the thread is the conversation. */
export function conversationKey(guildId: string | null, channelId: string, channel: ChannelLike | null): ConversationKey {
  const workspace = guildId ?? 'dm';
  if (channel?.isThread() && channel.parentId) {
    return { platform: 'discord', workspace, channel: channel.parentId, thread: channelId };
  }
  return { platform: 'discord', workspace, channel: channelId };
}

export function attachmentRef(attachment: Attachment): AttachmentRef {
  return { url: attachment.url, name: attachment.name, size: attachment.size, contentType: attachment.contentType };
}

/** A slash command's options as the framework takes them; the attachment travels apart, to be downloaded. */
export function decodeInteraction(interaction: ChatInputCommandInteraction): {
  request: Omit<BotRequest, 'image'>;
  attachment?: AttachmentRef;
} {
  const args: BotRequest['args'] = {};
  let attachment: AttachmentRef | undefined;
  for (const option of interaction.options.data) {
    if (option.type === ApplicationCommandOptionType.Attachment && option.attachment) {
      attachment = attachmentRef(option.attachment);
    } else if (typeof option.value === 'string' || typeof option.value === 'number') {
      args[option.name] = option.value;
    }
  }
  const key = conversationKey(interaction.guildId, interaction.channelId, interaction.channel);
  return {
    request: {
      key,
      user: { id: interaction.user.id, name: interaction.user.username },
      command: interaction.commandName,
      args,
      eventId: `discord-interaction-${interaction.id}`,
    },
    attachment,
  };
}

/** Removes the bot's own mention, so `@bot [refer] the red car` reads `[refer] the red car`. */
export function stripMention(content: string, botId: string): string {
  return content.replaceAll(new RegExp(`<@!?${botId}>`, 'g'), '').replace(/\s+/g, ' ').trim();
}

/** A mention or DM as a request, read like a terminal line: `/refer the dog`, `[refer] the dog`, or chat. */
export function decodeMessage(
  message: Message,
  botId: string,
  commands: readonly CommandSpec[],
): Omit<BotRequest, 'image'> {
  const key = conversationKey(message.guildId, message.channelId, message.channel);
  return {
    key,
    user: { id: message.author.id, name: message.author.username },
    ...parseText(commands, stripMention(message.content, botId)),
    eventId: `discord-message-${message.id}`,
  };
}

/** The first attachment, preferring images, so a non-image alone still gets a clear refusal. */
export function pickAttachment(message: Message): AttachmentRef | undefined {
  const all = [...message.attachments.values()];
  const image = all.find((a) => a.contentType?.startsWith('image/')) ?? all[0];
  return image ? attachmentRef(image) : undefined;
}
