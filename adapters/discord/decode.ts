import {
  ApplicationCommandOptionType,
  type APIInteractionGuildMember,
  type Attachment,
  type ChatInputCommandInteraction,
  type GuildMember,
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

/** Replies followed back to find a chain's first message; a longer chain counts from the last one reached. */
const MAX_CHAIN_HOPS = 25;

/**
 * The asker's role ids in the guild, for the role allow and block lists (none in a DM). The guild's @everyone
 * role, which every member has, is left out.
 */
export function memberRoles(member: GuildMember | APIInteractionGuildMember | null, guildId: string | null): string[] {
  if (!member) return [];
  const ids = Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  return ids.filter((id) => id !== guildId);
}

/** The first message of the reply chain `msg` belongs to: its own id when it replies to nothing. */
export async function chainRoot(msg: Message): Promise<string> {
  let current = msg;
  for (let hop = 0; hop < MAX_CHAIN_HOPS; hop++) {
    const parent = current.reference?.messageId;
    if (!parent) break;
    try {
      current = await current.fetchReference();
    } catch {
      // A deleted message ends the chain; every later reply still stops at the same id.
      return parent;
    }
  }
  return current.id;
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
      user: {
        id: interaction.user.id,
        name: interaction.user.username,
        roles: memberRoles(interaction.member, interaction.guildId),
      },
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

/**
 * A mention or DM as a request, read like a terminal line: `/refer the dog`, `[refer] the dog`, or chat.
 * `chain` is the reply chain's first message, for conversations scoped per chain.
 */
export function decodeMessage(
  message: Message,
  botId: string,
  commands: readonly CommandSpec[],
  chain: string,
): Omit<BotRequest, 'image'> {
  const key = conversationKey(message.guildId, message.channelId, message.channel);
  return {
    key,
    user: { id: message.author.id, name: message.author.username, roles: memberRoles(message.member, message.guildId) },
    chain,
    ...parseText(commands, stripMention(message.content, botId)),
    eventId: `discord-message-${message.id}`,
  };
}

/**
 * Whether Discord showed the bot nothing of a message: without the Message Content intent, other people's
 * messages that do not mention the bot arrive with empty content, attachments and embeds (no real message is).
 */
export function looksBlank(message: Message): boolean {
  return message.content === '' && message.attachments.size === 0 && message.embeds.length === 0 && message.stickers.size === 0;
}

/** The first attachment, preferring images, so a non-image alone still gets a clear refusal. */
export function pickAttachment(message: Message): AttachmentRef | undefined {
  const all = [...message.attachments.values()];
  const image = all.find((a) => a.contentType?.startsWith('image/')) ?? all[0];
  return image ? attachmentRef(image) : undefined;
}
