import type { OutputImage } from '../render/output-image.ts';
import type { Entity, ImageSize } from '../grounding/types.ts';
import type { GenerateRequest, GenerateResult, GenerationConfig, TaskId, Timings, Turn } from '../inference/types.ts';
import type { MessageId } from './messages.ts';

/** Where a conversation lives: one per platform + workspace/guild + channel + thread (+ user, when scoped so). */
export interface ConversationKey {
  platform: string;
  workspace: string;
  channel: string;
  thread?: string;
  /** Set when conversations are scoped per user (`conversations.scope: user`). */
  user?: string;
}

export type OptionType = 'text' | 'image' | 'box' | 'number';

export interface PluginOption {
  name: string;
  type: OptionType;
  /** At most 100 characters (Discord's limit for option descriptions). */
  description: string;
  required?: boolean;
}

/** An image a user sent, already downloaded by the adapter. */
export interface InputImage {
  bytes: Uint8Array;
  name?: string;
  contentType?: string;
}

/** A platform-neutral request: what an adapter makes of a slash command, a mention or a console line. */
export interface BotRequest {
  key: ConversationKey;
  /** `roles`: the asker's Discord role ids or Slack user group ids, for the role allow and block lists. */
  user: { id: string; name?: string; roles?: readonly string[] };
  /** The reply chain the message belongs to (its first message's id), for `conversations.scope: thread`. */
  chain?: string;
  /** Plugin name (`refer`, `vqa`, ...). Free text with no command is `chat` (a leading `[task]` tag picks the task). */
  command: string;
  /** Option values by option name, as the user gave them. */
  args: Record<string, string | number | undefined>;
  image?: InputImage;
  /** Earlier turns on the image, for clients that send the whole conversation each time (the OpenAI API). */
  history?: Turn[];
  /** Generation settings for this request only, over the configured ones. */
  generation?: Partial<GenerationConfig>;
  /** The platform event that asked (Slack message, Discord interaction or message): a redelivery carries the same. */
  eventId?: string;
}

export type { OutputImage };

/**
 * What goes back to the chat. `user-error` replies are short, meant to be shown only to the asker where the
 * platform allows (Discord ephemeral); `error` is the one generic line for anything unexpected.
 */
export interface BotReply {
  kind: 'answer' | 'info' | 'user-error' | 'error';
  text: string;
  /** A note for the person, not part of the answer (the model's narrow domain): chats show it below the text. */
  notice?: string;
  /** For refusals and failures: the messages-table identifier `text` was made from, so an adapter can reword it. */
  error?: MessageId;
  image?: OutputImage;
  /** The model's raw answer and parsed entities (pixels), for answers. */
  raw?: string;
  entities?: Entity[];
  imageSize?: ImageSize;
  task?: TaskId;
  /** How long the engine took, and whether the image's embeddings were cached (answers only; for metrics). */
  timings?: Timings;
  visionCached?: boolean;
}

/** How an adapter hears about a request's progress while it runs. */
export interface ReplyStream {
  /** Called with the whole text so far (people's text, box tokens removed) as tokens arrive. */
  onText?(textSoFar: string): void;
  /** Called when the request has to wait: position 1 is next. */
  onQueued?(position: number): void;
}

/** What every adapter gets from the framework: the command list to register and one way to run a request. */
export interface BotCore {
  commands(): readonly CommandSpec[];
  handle(request: BotRequest, stream: ReplyStream, limits: ReplyLimits): Promise<BotReply>;
}

export interface CommandSpec {
  name: string;
  description: string;
  options: readonly PluginOption[];
  /** Whether the command works on an image (its `image` option is then optional when the conversation has one). */
  usesImage: boolean;
}

/** Limits an adapter passes so the reply fits the platform. */
export interface ReplyLimits {
  /** Largest upload in bytes (Discord: interaction.attachmentSizeLimit). */
  imageBytes: number;
}

/** The part of the inference engine the framework uses (src/inference/engine.ts's Engine fits it). */
export interface BotEngine {
  /** Requests the engine answers at once (its batch); the bot's queue lets in that many. */
  readonly capacity: number;
  /** What the model directory declares; `domain` is the world a narrow model knows. */
  readonly model?: { readonly domain?: string };
  /** `onQueued`: an engine with a queue of its own (the Redis backend's) tells the request's place in it. */
  generate(
    request: GenerateRequest,
    onText?: (textSoFar: string) => void,
    onQueued?: (position: number) => void,
  ): Promise<GenerateResult>;
  /** Drops a conversation's cached image embeddings and KV. */
  forget(conversation: string): void;
}

/**
 * An accepted request as the journal keeps it until its final reply is out: what is needed to answer it after a
 * crash (the request, its image) and to reach its user (`place`: the platform's ids for the channel, the
 * placeholder message or the interaction token, as the adapter that wrote it reads them).
 */
export interface PendingRequest {
  id: string;
  platform: string;
  place: Record<string, string | number>;
  request: BotRequest;
  acceptedAt: number;
}

/** Accepted requests that have no final reply yet, kept across restarts (src/state's SQLite file). */
export interface RequestJournal {
  add(entry: PendingRequest): void;
  /** Replaces where the user waits (the placeholder was posted, or replaced by a new message). */
  move(id: string, place: PendingRequest['place']): void;
  remove(id: string): void;
  pending(platform: string): PendingRequest[];
}
