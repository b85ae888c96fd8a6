import { type Client, type MessageCreateOptions, type SendableChannels, WebhookClient } from 'discord.js';
import { message } from '../../src/bot/messages.ts';
import type { BotReply, PendingRequest } from '../../src/bot/types.ts';
import { answerLeftovers, type DeliverTo } from '../kit/journal.ts';
import { deliver } from '../kit/live-reply.ts';
import { DEFAULT_UPLOAD_LIMIT, NO_PINGS, encodeReply, notDelivered } from './encode.ts';
import type { Handling } from './handling.ts';

const LOST: BotReply = { kind: 'error', text: message('lost') };

/**
 * After a start, the requests the previous run accepted and never answered (it was killed): each is run again
 * and its answer delivered by `deliveryTo`.
 */
export function answerPrevious(h: Handling): Promise<void> {
  const run = (request: PendingRequest['request']) => h.run(request, {}, { imageBytes: DEFAULT_UPLOAD_LIMIT });
  return answerLeftovers(h.journal, run, LOST);
}

/**
 * How a journaled request's reply reaches its user, after a restart or when the live answer could not be
 * delivered: it replaces the reply the user has been looking at ("thinking…", a queue place), by the
 * interaction's token while it is valid, else by editing or answering the message in the channel.
 */
export function deliveryTo(client: Client, h: Handling): DeliverTo {
  return (entry, reply) => deliverTo(client as Client<true>, entry, reply, h);
}

async function deliverTo(client: Client<true>, entry: PendingRequest, reply: BotReply, h: Handling): Promise<boolean> {
  const place = entry.place;
  const onError = (error: unknown, step: string) =>
    h.log.warn({ err: error, request: entry.id, step }, 'discord: earlier answer not delivered that way');
  const tokenValid = place.kind === 'interaction' && Date.now() < Number(place.expires);
  if (tokenValid) return viaInteraction(client, String(place.token), reply, onError, h);
  const channel = await client.channels
    .fetch(String(place.channel))
    .catch((error: unknown) => onError(error, 'channel'));
  if (!channel?.isSendable()) return false;
  // A message is answered where it was asked; an expired interaction's answer names its asker.
  const prefix = place.kind === 'interaction' ? `<@${String(place.user)}> ` : '';
  const encoded = encodeReply(reply, DEFAULT_UPLOAD_LIMIT, prefix);
  const where: MessageCreateOptions =
    place.kind === 'interaction'
      ? { allowedMentions: { users: [String(place.user)] } }
      : { allowedMentions: NO_PINGS, reply: { messageReference: String(place.asked), failIfNotExists: false } };
  const placeholder = typeof place.reply === 'string' ? place.reply : await findReply(client, channel, place, onError);
  const delivered = await deliver({
    ...(placeholder
      ? { edit: () => channel.messages.edit(placeholder, { ...encoded.first, allowedMentions: NO_PINGS }) }
      : {}),
    post: () => channel.send({ ...encoded.first, ...where }),
    apologise: (reason) => channel.send({ content: `${prefix}${notDelivered(reason)}`, ...where }),
    onError,
  });
  if (delivered === 'posted' && placeholder) {
    await channel.messages.delete(placeholder).catch((e: unknown) => onError(e, 'delete'));
  }
  if (delivered === 'edited' || delivered === 'posted') {
    for (const content of encoded.rest) {
      await channel.send({ content, allowedMentions: NO_PINGS }).catch((e: unknown) => onError(e, 'rest'));
    }
  }
  return delivered !== 'lost';
}

/**
 * The reply a killed run posted to a message but had not journaled yet (it died between the post and the write):
 * found among the messages after the asked one, so the answer replaces it instead of adding a second reply.
 */
async function findReply(
  client: Client<true>,
  channel: SendableChannels,
  place: PendingRequest['place'],
  onError: (error: unknown, step: string) => void,
): Promise<string | undefined> {
  if (place.kind !== 'message') return undefined;
  const asked = String(place.asked);
  try {
    const after = await channel.messages.fetch({ after: asked, limit: 100 });
    return after.find((m) => m.author.id === client.user.id && m.reference?.messageId === asked)?.id;
  } catch (error) {
    onError(error, 'find reply');
    return undefined;
  }
}

/** The deferred reply edited through the interaction's webhook, as the interaction itself would have. */
async function viaInteraction(
  client: Client<true>,
  token: string,
  reply: BotReply,
  onError: (error: unknown, step: string) => void,
  h: Handling,
): Promise<boolean> {
  const rest = h.config.apiUrl ? { api: h.config.apiUrl } : {};
  const webhook = new WebhookClient({ id: client.application.id, token }, { rest });
  try {
    const encoded = encodeReply(reply, DEFAULT_UPLOAD_LIMIT);
    const first = { ...encoded.first, allowedMentions: NO_PINGS };
    const delivered = await deliver({
      edit: () => webhook.editMessage('@original', first),
      post: () => webhook.send(first),
      apologise: (reason) => webhook.send({ content: notDelivered(reason), allowedMentions: NO_PINGS }),
      onError,
    });
    if (delivered === 'posted') await webhook.deleteMessage('@original').catch((e: unknown) => onError(e, 'delete'));
    if (delivered === 'edited' || delivered === 'posted') {
      for (const content of encoded.rest) {
        await webhook.send({ content, allowedMentions: NO_PINGS }).catch((e: unknown) => onError(e, 'rest'));
      }
    }
    return delivered !== 'lost';
  } finally {
    webhook.destroy();
  }
}
