import { z } from 'zod';
import { DEFAULT_MODEL_DIR } from '../inference/model-dir.ts';

/**
 * The whole configuration, one schema with a default for every key, so an empty file (or none) runs.
 * Objects are strict: a misspelt key is an error that names it, not a silently ignored setting.
 */
const ids = z.array(z.string().min(1)).prefault([]);
const positiveInt = z.number().int().positive();

export const AccessConfig = z.strictObject({
  admins: ids,
  allowUsers: ids,
  blockUsers: ids,
  allowChannels: ids,
  blockChannels: ids,
  /** Discord role ids or Slack user group ids: members of an allowed role may ask; a blocked role wins. */
  allowRoles: ids,
  blockRoles: ids,
});

/** How many requests run at once is the engine's capacity (`model.maxBatch`); the rest wait here, in order. */
export const LimitsConfig = z.strictObject({
  maxQueue: z.number().int().nonnegative().prefault(20),
  perUser: z
    .strictObject({ requests: positiveInt.prefault(20), windowSeconds: positiveInt.prefault(60) })
    .prefault({}),
  imageMegabytes: z.number().positive().prefault(20),
  imageMegapixels: z.number().positive().prefault(40),
});

export const ConversationsConfig = z.strictObject({
  idleMinutes: z.number().positive().prefault(60),
  maxLive: positiveInt.prefault(500),
  maxTurns: positiveInt.prefault(8),
  /**
   * Who shares a conversation: `channel` (everyone in a channel, each thread its own), `user` (each person their
   * own within a channel), `thread` (each reply chain its own).
   */
  scope: z.enum(['channel', 'user', 'thread']).prefault('channel'),
});

/** `disabled` lists commands to leave out; every other key is a plugin's own section, checked by its schema. */
export const PluginsConfig = z.looseObject({ disabled: ids });

/** The part the framework (createBot) reads. */
export const BotSettings = z.strictObject({
  access: AccessConfig.prefault({}),
  limits: LimitsConfig.prefault({}),
  conversations: ConversationsConfig.prefault({}),
  plugins: PluginsConfig.prefault({}),
});
export type BotSettings = z.infer<typeof BotSettings>;

export const GenerationOverrides = z.strictObject({
  maxNewTokens: positiveInt.optional(),
  doSample: z.boolean().optional(),
  temperature: z.number().nonnegative().optional(),
  topK: z.number().int().nonnegative().optional(),
  topP: z.number().gt(0).lte(1).optional(),
  repetitionPenalty: z.number().positive().optional(),
  seed: z.number().int().optional(),
});

export const ModelConfig = z.strictObject({
  dir: z.string().min(1).prefault(DEFAULT_MODEL_DIR),
  device: z.enum(['cpu', 'webgpu', 'cuda']).prefault('cpu'),
  threads: positiveInt.optional(),
  /** Conversations whose decode steps share one decoder call (the engine's default: 16); 1 answers one at a time. */
  maxBatch: positiveInt.optional(),
  /**
   * Conversations whose image embeddings and KV cache the engine keeps between turns (the engine's default: 4;
   * a 7B conversation of 2,000 positions holds 2 GiB); the others start again from their image.
   */
  cachedConversations: positiveInt.optional(),
});

export const ConsoleConfig = z.strictObject({
  /** Where annotated answers are saved. */
  outDir: z.string().min(1).prefault('out'),
  /** The image a console session starts with; the sample that ships with the project by default. */
  image: z.string().min(1).optional(),
});

export const StateConfig = z.strictObject({
  /** The SQLite file that keeps conversations across restarts (relative to the config file); ':memory:' keeps none. */
  file: z.string().min(1).prefault('state/minigpt-bot.sqlite'),
  /** What the stored conversations (images, turns) may take; past it the ones idle longest are dropped. */
  maxMegabytes: z.number().positive().prefault(1024),
});

export const MetricsConfig = z.strictObject({
  /** 'auto': served while a chat adapter runs; a terminal chat alone opens no port. */
  enabled: z.union([z.boolean(), z.literal('auto')]).prefault('auto'),
  /** /healthz and /metrics; 0 picks a free port. */
  port: z.number().int().min(0).max(65535).prefault(9464),
  /** Loopback by default: metrics name commands and outcomes, so opening them up is the operator's choice. */
  host: z.string().min(1).prefault('127.0.0.1'),
});

export const ShutdownConfig = z.strictObject({
  /** On SIGTERM, how long answers in progress may run before they are cancelled (their users are told to ask again). */
  graceSeconds: z.number().nonnegative().prefault(20),
});

export const WebConfig = z.strictObject({
  /** The sandbox page and the OpenAI-compatible API. 'auto': beside a terminal chat typed into. */
  enabled: z.union([z.boolean(), z.literal('auto')]).prefault('auto'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).prefault(8080),
  /** Loopback by default; any other address needs API_KEYS (and takes WEB_PASSWORD for the page). */
  host: z.string().min(1).prefault('127.0.0.1'),
  /** Hosts the API may download `image_url` http(s) images from; none by default (data URLs only). */
  imageHosts: ids,
});

export const QueueBackendConfig = z.strictObject({
  /** 'redis' runs jobs on BullMQ and keeps conversations in Redis; unset: 'redis' when `url` (REDIS_URL) is set. */
  backend: z.enum(['memory', 'redis']).optional(),
  url: z.string().min(1).optional(),
});

/** Adapter sections are validated by the adapters themselves; secrets come from the environment only. */
const AdapterSection = z.looseObject({}).prefault({});

export const Config = z.strictObject({
  model: ModelConfig.prefault({}),
  generation: GenerationOverrides.prefault({}),
  ...BotSettings.shape,
  console: ConsoleConfig.prefault({}),
  state: StateConfig.prefault({}),
  metrics: MetricsConfig.prefault({}),
  shutdown: ShutdownConfig.prefault({}),
  web: WebConfig.prefault({}),
  queue: QueueBackendConfig.prefault({}),
  discord: AdapterSection,
  slack: AdapterSection,
  /** Unset: `info` with a chat adapter, `warn` for the console alone (its log shares the terminal). */
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional() }).prefault({}),
});
export type Config = z.infer<typeof Config>;
