import {
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { parseText } from '../kit/grammar.ts';
import { TEXT_MAX_CHARS } from '../kit/text-limit.ts';
import { ASK_ABOUT_IMAGE } from './commands.ts';
import { chainRoot, conversationKey, memberRoles, pickAttachment } from './decode.ts';
import { precheck } from './download.ts';
import { NO_PINGS, refusalText } from './encode.ts';
import type { Handling } from './handling.ts';
import { answerInteraction } from './interactions.ts';
import type { AttachmentRef } from './types.ts';

/** The modal's custom id: this prefix, then the menu interaction's id, which keys the image pointed at. */
const MODAL_PREFIX = 'ask-image:';
const QUESTION_FIELD = 'question';
/** How long an image pointed at waits for its question, and how many wait at once. */
const PENDING_MS = 15 * 60_000;
const MAX_PENDING = 1000;

export const NO_IMAGE_IN_MESSAGE = 'That message has no image I can read (PNG, JPEG, WebP or GIF).';
export const QUESTION_EXPIRED =
  'I no longer know which image this question is about (it waited too long, or I restarted). Please use ' +
  `"${ASK_ABOUT_IMAGE}" on the message again.`;

/**
 * An image pointed at, and the reply chain its message belongs to: followed while the user types, so the modal
 * opens within Discord's 3 seconds however long the chain.
 */
export interface PointedImage {
  ref: AttachmentRef;
  chain: Promise<string>;
}

/** The images users pointed at whose modal is still open, oldest first. */
export class PendingImages {
  private readonly waiting = new Map<string, { image: PointedImage; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  put(id: string, image: PointedImage): void {
    const now = this.now();
    for (const [key, entry] of this.waiting) {
      if (entry.until > now && this.waiting.size < MAX_PENDING) break;
      this.waiting.delete(key);
    }
    this.waiting.set(id, { image, until: now + PENDING_MS });
  }

  take(id: string): PointedImage | undefined {
    const entry = this.waiting.get(id);
    this.waiting.delete(id);
    return entry && entry.until > this.now() ? entry.image : undefined;
  }
}

export const isAskModal = (customId: string): boolean => customId.startsWith(MODAL_PREFIX);

/**
 * "Ask about this image" on a message: Discord hands over the whole message, attachments included, even without
 * the Message Content intent. The image is remembered and a modal asks for the question.
 */
export async function handleAskMenu(
  interaction: MessageContextMenuCommandInteraction,
  h: Handling,
  pending: PendingImages,
): Promise<void> {
  const ref = pickAttachment(interaction.targetMessage);
  const checked = ref ? precheck(ref, h.downloadLimits) : { ok: false as const, text: NO_IMAGE_IN_MESSAGE };
  if (!ref || !checked.ok) {
    await interaction.reply({ content: checked.ok ? NO_IMAGE_IN_MESSAGE : refusalText(checked.text), flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    return;
  }
  const target = interaction.targetMessage;
  pending.put(interaction.id, { ref, chain: chainRoot(target).catch(() => target.id) });
  const question = new TextInputBuilder()
    .setCustomId(QUESTION_FIELD)
    .setStyle(TextInputStyle.Paragraph)
    .setMaxLength(TEXT_MAX_CHARS)
    .setRequired(true)
    .setPlaceholder('What is in the picture? Or a command: /refer the red car');
  const modal = new ModalBuilder()
    .setCustomId(`${MODAL_PREFIX}${interaction.id}`)
    .setTitle(ASK_ABOUT_IMAGE)
    .addLabelComponents(new LabelBuilder().setLabel('Your question').setTextInputComponent(question));
  await interaction.showModal(modal);
}

/** The modal's question, asked about the image pointed at, read like a mention (`/refer …`, `[task] …`, chat). */
export async function handleAskModal(interaction: ModalSubmitInteraction, h: Handling, pending: PendingImages): Promise<void> {
  const pointed = pending.take(interaction.customId.slice(MODAL_PREFIX.length));
  if (!pointed) {
    await interaction.reply({ content: QUESTION_EXPIRED, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    return;
  }
  const text = interaction.fields.getTextInputValue(QUESTION_FIELD).trim();
  const channelId = interaction.channelId ?? interaction.user.id;
  const request = {
    key: conversationKey(interaction.guildId, channelId, interaction.channel),
    user: {
      id: interaction.user.id,
      name: interaction.user.username,
      roles: memberRoles(interaction.member, interaction.guildId),
    },
    chain: await pointed.chain,
    ...parseText(h.commands, text),
  };
  await answerInteraction(interaction, request, pointed.ref, h);
}
