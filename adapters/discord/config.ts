import { z } from 'zod';
import { REDELIVER_AFTER_MS } from '../kit/journal.ts';

const MiB = 1024 * 1024;

/** The `discord` section of the config file, with `token` (DISCORD_TOKEN) and `apiUrl` (DISCORD_API_URL) from the environment. */
export const Config = z.strictObject({
  token: z.string().min(1, 'DISCORD_TOKEN is empty'),
  /** REST base URL (DISCORD_API_URL), e.g. http://127.0.0.1:8080/api; the gateway URL then comes from that API. */
  apiUrl: z.url().optional(),
  /** Channel ids where the bot answers every message, without a mention (threads under them included). */
  channels: z.array(z.string()).default([]),
  /** Answer messages from other bots too (off by default: two bots answering each other would never stop). */
  answerBots: z.boolean().default(false),
  /** Largest image the bot downloads, in bytes. */
  maxImageBytes: z.number().int().positive().default(20 * MiB),
  /** How long one image download may take. */
  downloadTimeoutMs: z.number().int().positive().default(15_000),
  /** Least time between two edits of streamed text in one channel (Discord does not document an edit limit). */
  editIntervalMs: z.number().int().min(1000).default(1500),
  /** Work finishing later than this after the command ends in a channel message (interaction tokens last 15 min). */
  interactionDeadlineMs: z.number().int().positive().max(15 * 60_000).default(14 * 60_000),
  /** An answer that reached no one (not even an apology) is tried again this many ms after each failed try. */
  redeliverAfterMs: z.array(z.number().int().positive()).max(10).default([...REDELIVER_AFTER_MS]),
  /** Register the slash commands at start-up (skipped when Discord already has the same ones). */
  registerCommands: z.boolean().default(true),
  /** Register per guild instead of globally: guild commands update at once, which suits development. */
  guild: z.string().optional(),
  /**
   * Gateway shards this process connects, all of them: a count, or `auto` for the one Discord recommends (GET
   * /gateway/bot). Discord requires sharding from 2,500 guilds on; each shard carries its own guilds' events.
   */
  shards: z.union([z.literal('auto'), z.number().int().min(1)]).default(1),
});

export type Config = z.output<typeof Config>;
export type ConfigInput = z.input<typeof Config>;

/** Reads the adapter's settings from the environment over the file's; names the bad key when one is wrong. */
export function parseConfig(input: ConfigInput): { ok: true; config: Config } | { ok: false; message: string } {
  const parsed = Config.safeParse(input);
  if (parsed.success) return { ok: true, config: parsed.data };
  const issue = parsed.error.issues[0]!;
  const path = [...issue.path, ...(issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [])];
  return { ok: false, message: `${['discord', ...path].join('.')}: ${issue.message}` };
}

