import type { EventClaims } from '../adapters/slack/dedupe.ts';
import type { BotCore, RequestJournal } from '../src/bot/types.ts';
import type { Config } from '../src/config/schema.ts';
import type { Logger } from '../src/log.ts';
import { SqliteMemory } from '../src/state/sqlite-memory.ts';
import { StoredMemory } from '../adapters/kit/memory.ts';

/** A started chat adapter, as the health check and the shutdown see it. */
export interface Running {
  name: string;
  stop(graceMs?: number): Promise<void>;
  connected(): boolean;
}

export interface ChatAdapterOptions {
  /** Ends the process when a connection is closed for good (Discord's revoked token or refused intents). */
  onFatal?: () => void;
  /** Where Slack's taken events are claimed when several gateways share them (Redis); the state file otherwise. */
  slackClaims?: EventClaims;
  /** Accepted requests kept until answered, so those a killed run left are answered (or their users told) next. */
  journal?: RequestJournal;
}

/** The chat adapters the environment enables; each is imported only when enabled, so an unused one costs nothing. */
export async function startChatAdapters(
  bot: BotCore,
  config: Config,
  log: Logger,
  options: ChatAdapterOptions = {},
): Promise<Running[]> {
  const running: Running[] = [];
  if (config.discord.token) {
    const discord = await import('../adapters/discord/index.ts');
    const section = config.discord as Parameters<typeof discord.start>[1];
    const { onFatal, journal } = options;
    const adapter = await discord.start(bot, section, log.child({ adapter: 'discord' }), { onFatal, journal });
    log.info({ invite: adapter.inviteUrl }, 'discord: connected');
    running.push({ name: 'discord', stop: (graceMs) => adapter.stop(graceMs), connected: () => adapter.connected() });
  }
  if (config.slack.botToken) {
    const slack = await import('../adapters/slack/index.ts');
    // Events already answered and each channel's latest image, kept in the state file across restarts.
    const child = log.child({ adapter: 'slack' });
    const stored = new SqliteMemory(config.state.file, 'slack');
    // A full disk must not stop the answers: what the file cannot take is remembered in this process meanwhile.
    const memory = new StoredMemory(stored, (error) => child.warn({ err: error }, 'slack: state file memory failed'));
    const section = config.slack as Parameters<typeof slack.start>[1];
    const { slackClaims: claims, journal } = options;
    const adapter = await slack.start(bot, section, child, { memory, claims, journal });
    log.info('slack: connected');
    const stop = (graceMs?: number) => adapter.stop(graceMs).finally(() => stored.close());
    running.push({ name: 'slack', stop, connected: () => adapter.connected() });
  }
  return running;
}
