import type { EventClaims } from '../adapters/slack/dedupe.ts';
import type { BotCore } from '../src/bot/types.ts';
import type { Config } from '../src/config/schema.ts';
import type { Logger } from '../src/log.ts';

/** A started chat adapter, as the health check and the shutdown see it. */
export interface Running {
  name: string;
  stop(graceMs?: number): Promise<void>;
  connected(): boolean;
}

/** The chat adapters the environment enables; each is imported only when enabled, so an unused one costs nothing. */
export async function startChatAdapters(
  bot: BotCore,
  config: Config,
  log: Logger,
  shared: { slackClaims?: EventClaims } = {},
): Promise<Running[]> {
  const running: Running[] = [];
  if (config.discord.token) {
    const discord = await import('../adapters/discord/index.ts');
    const adapter = await discord.start(bot, config.discord as Parameters<typeof discord.start>[1], log.child({ adapter: 'discord' }));
    log.info({ invite: adapter.inviteUrl }, 'discord: connected');
    running.push({ name: 'discord', stop: (graceMs) => adapter.stop(graceMs), connected: () => adapter.connected() });
  }
  if (config.slack.botToken) {
    const slack = await import('../adapters/slack/index.ts');
    const settings = config.slack as Parameters<typeof slack.start>[1];
    const adapter = await slack.start(bot, settings, log.child({ adapter: 'slack' }), process.env, shared.slackClaims);
    log.info('slack: connected');
    running.push({ name: 'slack', stop: (graceMs) => adapter.stop(graceMs), connected: () => adapter.connected() });
  }
  return running;
}
