import { z } from 'zod';
import { REDELIVER_AFTER_MS } from '../kit/journal.ts';

/** Largest image the bot downloads from Slack, by default. */
const DEFAULT_DOWNLOAD_MAX_BYTES = 20 * 1024 * 1024;
/** Slack itself accepts far larger uploads; this keeps annotated images quick to post and view. */
const DEFAULT_UPLOAD_MAX_BYTES = 8 * 1024 * 1024;

/** The Slack adapter's settings. Secrets come from the environment (see `withEnvironment`). */
export const Config = z
  .strictObject({
    botToken: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)'),
    /** App-level token: when set, the bot connects over Socket Mode and opens no port. */
    appToken: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
    /** Verifies HTTP requests; required unless Socket Mode is used. */
    signingSecret: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).default(3000),
    /** Interface the HTTP receiver listens on; all interfaces when unset. */
    host: z.string().optional(),
    /** Web API base URL, for local servers and enterprise proxies. Download URLs on its host are trusted too. */
    apiUrl: z.url().optional(),
    downloadMaxBytes: z.number().int().positive().default(DEFAULT_DOWNLOAD_MAX_BYTES),
    downloadTimeoutMs: z.number().int().positive().default(15_000),
    uploadMaxBytes: z.number().int().positive().default(DEFAULT_UPLOAD_MAX_BYTES),
    /** Retries of a failed Web API call; the library's default (10, over about 30 minutes) when unset. */
    apiRetries: z.number().int().min(0).optional(),
    /** Shortest gap between two streaming edits of one message (chat.update is rate limited). */
    updateIntervalMs: z.number().int().min(0).default(1000),
    /** Answer mentions from other apps and bots too (off by default: two bots answering each other never stop). */
    answerBots: z.boolean().default(false),
    /**
     * Look up each asker's user groups (usergroups.list, scope `usergroups:read`) for `access.allowRoles` and
     * `blockRoles`, which then hold group ids (S…).
     */
    userGroups: z.boolean().default(false),
    /** `chat.update` calls a minute for the whole workspace, shared by every reply (Slack allows about 50). */
    updatesPerMinute: z.number().int().positive().default(50),
    /** An answer that reached no one (not even an apology) is tried again this many ms after each failed try. */
    redeliverAfterMs: z.array(z.number().int().positive()).max(10).default([...REDELIVER_AFTER_MS]),
  })
  .refine((c) => c.appToken !== undefined || c.signingSecret !== undefined, {
    path: ['signingSecret'],
    message: 'is required for the HTTP receiver (or set an app token for Socket Mode)',
  });
export type Config = z.output<typeof Config>;
export type ConfigInput = z.input<typeof Config>;

/** Where each key can be set, so an error names what the user actually typed. */
const ENV_NAMES: Record<string, string> = {
  botToken: 'SLACK_BOT_TOKEN',
  appToken: 'SLACK_APP_TOKEN',
  signingSecret: 'SLACK_SIGNING_SECRET',
  port: 'SLACK_PORT',
  apiUrl: 'SLACK_API_URL',
};

/** Checks the settings; the error names the environment variable or `slack.<key>` that is wrong. */
export function parseConfig(input: ConfigInput): { ok: true; config: Config } | { ok: false; message: string } {
  const parsed = Config.safeParse(input);
  if (parsed.success) return { ok: true, config: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : '';
    const key = issue.path.length > 0 ? issue.path.join('.') : unknownKeys;
    return `${ENV_NAMES[key] ?? `slack.${key}`}: ${issue.message}`;
  });
  return { ok: false, message: problems.join('; ') };
}

/**
 * The settings with the environment applied over the config file's `slack` section: SLACK_BOT_TOKEN,
 * SLACK_APP_TOKEN and SLACK_SIGNING_SECRET (secrets live only there), SLACK_PORT and SLACK_API_URL.
 */
export function withEnvironment(section: Record<string, unknown>, env: NodeJS.ProcessEnv): ConfigInput {
  const fromEnv: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV_NAMES)) {
    const value = env[name];
    if (value) fromEnv[key] = key === 'port' ? Number(value) : value;
  }
  return { ...section, ...fromEnv } as ConfigInput;
}
