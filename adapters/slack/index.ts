import type { BotCore } from '../../src/bot/types.ts';
import { SlackBot } from './bot.ts';
import { parseConfig, withEnvironment, type ConfigInput } from './config.ts';
import { createTransport } from './transport.ts';
import type { Log } from './types.ts';

export { Config, parseConfig, withEnvironment, type ConfigInput } from './config.ts';
export { buildManifest } from './manifest.ts';
export type { Log } from './types.ts';

export interface SlackAdapter {
  /** The HTTP receiver's port (HTTP mode only; useful when port 0 picked a free one). */
  port?: number;
  stop(): Promise<void>;
}

/**
 * Starts the Slack bot: Socket Mode when the settings have an app token, otherwise the HTTP receiver on
 * `port` at /slack/events. Answers mentions, DMs and the registry's slash commands until stopped. `input` is the
 * config file's `slack` section; the SLACK_* variables of `env` apply over it.
 */
export async function start(core: BotCore, input: ConfigInput, log: Log, env: NodeJS.ProcessEnv = process.env): Promise<SlackAdapter> {
  const parsed = parseConfig(withEnvironment(input as Record<string, unknown>, env));
  if (!parsed.ok) throw new Error(parsed.message);
  const config = parsed.config;
  const transport = createTransport(config, log);
  new SlackBot(core, config, log).register(transport.app);
  const port = await transport.start();
  log.info({ mode: config.appToken ? 'socket' : 'http', port }, 'slack adapter started');
  return { ...(port === undefined ? {} : { port }), stop: () => transport.stop() };
}
