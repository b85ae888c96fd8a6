import type { Logger } from 'pino';
import type { z } from 'zod';
import { parseBoxRef } from '../grounding/box-ref.ts';
import { parseAnswer } from '../grounding/parse.ts';
import { InputError } from '../inference/errors.ts';
import type { GenerationConfig } from '../inference/types.ts';
import { BotSettings } from '../config/schema.ts';
import { buildAnswerReply } from './answer.ts';
import {
  type Conversation,
  type ConversationStore,
  Conversations,
  MemoryConversationStore,
  scopedKey,
} from './conversations.ts';
import { checkAccess, isAdmin } from './guards/access.ts';
import { RequestQueue } from './guards/queue.ts';
import { UserRateLimit } from './guards/rate-limit.ts';
import { checkImage } from './image.ts';
import { message } from './messages.ts';
import { parseOptions } from './options.ts';
import type { AnyContext, AnyPlugin } from './plugin.ts';
import { createRegistry, type PluginRegistry } from './registry.ts';
import type { UserError } from './result.ts';
import type { BotCore, BotEngine, BotReply, BotRequest, ReplyLimits, ReplyStream } from './types.ts';

export interface BotOptions {
  engine: BotEngine;
  plugins: readonly AnyPlugin[];
  /** access, limits, conversations, plugins: anything left out takes its default. */
  settings?: z.input<typeof BotSettings>;
  /** Generation overrides applied to every request (the model's defaults otherwise). */
  generation?: Partial<GenerationConfig>;
  log?: Logger;
  store?: ConversationStore;
  now?: () => number;
}

export interface Bot extends BotCore {
  readonly registry: PluginRegistry;
  /** Requests waiting for a free generation slot. */
  queueLength(): number;
  /** Waits for queued and running requests to finish. */
  close(): Promise<void>;
}

const userError = (error: UserError): BotReply => ({
  kind: 'user-error',
  text: message(error.identifier, error.context),
  error: error.identifier,
});

/**
 * The platform-neutral framework every adapter talks to: request → guards → conversation → plugin → engine →
 * rendered reply. User mistakes come back as short `user-error` replies; anything unexpected is caught here, in
 * one place, logged with structure and answered with one generic line.
 */
export function createBot(options: BotOptions): Bot {
  const settings = BotSettings.parse(options.settings ?? {});
  const { disabled, ...sections } = settings.plugins;
  const registry = createRegistry(options.plugins, sections, disabled);
  const now = options.now ?? Date.now;
  const conversations = new Conversations(
    options.store ?? new MemoryConversationStore(),
    settings.conversations,
    (id) => options.engine.forget(id),
    now,
  );
  const rateLimit = new UserRateLimit(settings.limits.perUser, now);
  const queue = new RequestQueue({ capacity: options.engine.capacity, maxQueue: settings.limits.maxQueue });

  async function dispatch(request: BotRequest, stream: ReplyStream, limits: ReplyLimits): Promise<BotReply> {
    const plugin = registry.get(request.command);
    if (!plugin) return userError({ identifier: 'unknown-command', context: { command: request.command } });
    const access = checkAccess(settings.access, request);
    if (!access.ok) return userError(access.error);
    const admin = isAdmin(settings.access, request.user.id);
    if (plugin.adminOnly && !admin) return userError({ identifier: 'admin-only', context: { command: plugin.name } });

    const key = scopedKey(request.key, settings.conversations.scope, request.user.id, request.chain);
    let conversation = conversations.open(key, request.user.id);
    if (plugin.usesImage && request.image) {
      const checked = await checkImage(request.image, settings.limits);
      if (!checked.ok) return userError(checked.error);
      const before = conversation;
      conversation = conversations.setImage(conversation, checked.value);
      if (conversation !== before) conversations.save(conversation);
    }
    const image = conversation.image;
    if (plugin.usesImage && !image) return userError({ identifier: 'needs-image' });

    const args = parseOptions(plugin, request.args, { size: image?.size, entities: conversation.entities });
    if (!args.ok) return userError(args.error);
    const ctx = contextFor(plugin, conversation, args.value, request.user.id, admin);
    const outcome = await plugin.run(ctx);
    if ('info' in outcome) return { kind: 'info', text: outcome.info };
    if ('refuse' in outcome) return userError({ identifier: outcome.refuse, context: outcome.context });
    if (!image) return userError({ identifier: 'needs-image' });

    if (queue.isFull()) return userError({ identifier: 'queue-full', context: { waiting: queue.length } });
    if (!admin) {
      const allowed = rateLimit.take(request.user.id);
      if (!allowed.ok) return userError(allowed.error);
    }
    const ran = await queue.run(async () => {
      const history = request.history ?? conversations.history(conversation.id, image.hash);
      const generation = { ...options.generation, ...request.generation };
      let shown = '';
      const result = await options.engine.generate(
        {
          conversation: conversation.id,
          image: image.bytes,
          imageHash: image.hash,
          history,
          ...outcome.ask,
          generation,
          requestId: request.eventId,
        },
        (raw) => {
          const text = parseAnswer(raw).text;
          if (text === shown) return;
          shown = text;
          stream.onText?.(text);
        },
        stream.onQueued,
      );
      return buildAnswerReply(plugin, ctx, outcome.ask, result, image.bytes, limits);
    }, stream.onQueued).catch((error: unknown) => {
      // Refused by a queue only the engine sees (Redis's): the request was not taken, so neither is its token.
      if (!admin && error instanceof InputError && error.problem === 'queue-full') rateLimit.giveBack(request.user.id);
      throw error;
    });
    if (!ran.ok) return userError(ran.error);
    const { reply, answer } = ran.value;
    const firstAnswer = conversations.history(conversation.id, image.hash).length === 0;
    conversations.record(conversation.id, image.hash, { ...outcome.ask, answer: answer.raw }, answer.entities);
    const domain = options.engine.model?.domain;
    return firstAnswer && domain ? { ...reply, notice: message('model-domain', { domain }) } : reply;
  }

  function contextFor(
    plugin: AnyPlugin,
    conversation: Conversation,
    args: Record<string, unknown>,
    user: string,
    admin: boolean,
  ): AnyContext {
    const size = conversation.image?.size;
    return {
      args: args as AnyContext['args'],
      config: registry.configOf(plugin.name),
      hasImage: conversation.image !== undefined,
      imageSize: size,
      commands: registry.commands(),
      resetConversation: () => conversations.reset(conversation.key, user, admin),
      resolveBox: (input) => {
        if (!size) return { ok: false, error: 'needs-image' };
        const box = parseBoxRef(input, size, conversation.entities);
        return box.ok ? { ok: true, box: box.value } : box;
      },
    };
  }

  return {
    registry,
    commands: () => registry.commands(),
    async handle(request, stream, limits) {
      const started = now();
      try {
        const reply = await dispatch(request, stream, limits);
        options.log?.info(
          { command: request.command, platform: request.key.platform, outcome: reply.kind, ms: now() - started },
          'request',
        );
        return reply;
      } catch (error) {
        if (error instanceof InputError) return userError({ identifier: error.problem, context: error.context });
        options.log?.error(
          { err: error, command: request.command, plugin: registry.get(request.command)?.name, platform: request.key.platform },
          'request failed',
        );
        return { kind: 'error', text: message('unexpected'), error: 'unexpected' };
      }
    },
    queueLength: () => queue.length,
    close: () => queue.drain(),
  };
}
