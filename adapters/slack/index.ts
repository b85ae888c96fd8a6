import type { BotCore, RequestJournal } from '../../src/bot/types.ts';
import { StartupError } from '../../src/config/startup-error.ts';
import { InFlight, STOP_GRACE_MS } from '../../src/ops/in-flight.ts';
import type { Memory } from '../kit/memory.ts';
import { SlackBot } from './bot.ts';
import type { EventClaims } from './dedupe.ts';
import { parseConfig, withEnvironment, type ConfigInput } from './config.ts';
import { createTransport } from './transport.ts';
import type { Log } from './types.ts';

export { Config, parseConfig, withEnvironment, type ConfigInput } from './config.ts';
export { buildManifest } from './manifest.ts';
export type { Log } from './types.ts';

export interface SlackAdapter {
  /** The HTTP receiver's port (HTTP mode only; useful when port 0 picked a free one). */
  port?: number;
  /** Stops taking events, waits up to `graceMs` (default 5 s) for answers in progress to be posted. */
  stop(graceMs?: number): Promise<void>;
  /** Whether Slack can reach the bot: the HTTP receiver listening, or the Socket Mode link open. */
  connected(): boolean;
}

/** What a start may be handed besides the settings; every field is optional. */
export interface StartOptions {
  /** The SLACK_* variables that apply over the settings: `process.env` when not given. */
  env?: NodeJS.ProcessEnv;
  /** Keeps the events taken and each channel's latest image (the state file's, so a restart forgets neither). */
  memory?: Memory;
  /** Where taken events are remembered: `memory` by default, Redis behind several gateways. */
  claims?: EventClaims;
  /** Accepted requests kept until answered, so those a killed run left are answered once started. */
  journal?: RequestJournal;
}

/**
 * Starts the Slack bot: Socket Mode when the settings have an app token, otherwise the HTTP receiver on
 * `port` at /slack/events. Answers mentions, DMs and the registry's slash commands until stopped. `input` is the
 * config file's `slack` section; the SLACK_* variables of `env` apply over it. `memory` keeps the events taken and
 * each channel's latest image (in memory when not given). With a `journal`, accepted requests are kept in it until
 * answered, and those a killed run left are answered once started.
 */
export async function start(
  core: BotCore,
  input: ConfigInput,
  log: Log,
  { env = process.env, memory, claims, journal }: StartOptions = {},
): Promise<SlackAdapter> {
  const parsed = parseConfig(withEnvironment(input as Record<string, unknown>, env));
  if (!parsed.ok) throw new StartupError(parsed.message);
  const config = parsed.config;
  const transport = createTransport(config, log);
  // Every event's listeners, tracked until they finish, so stopping can let answers in progress be posted.
  // Bolt reports a listener's failure itself (app.error), so the tracker only waits.
  const inFlight = new InFlight(() => undefined);
  transport.app.use(async ({ next }) => {
    const work = next();
    void inFlight.track(work);
    await work;
  });
  const bot = new SlackBot(core, config, log, memory, claims, journal);
  bot.register(transport.app);
  const port = await transport.start();
  log.info({ mode: config.appToken ? 'socket' : 'http', port }, 'slack adapter started');
  void inFlight.track(bot.answerPrevious());
  return {
    ...(port === undefined ? {} : { port }),
    // Replies go through the Web API client, which stays usable after the receiver stops taking events.
    async stop(graceMs = STOP_GRACE_MS) {
      await transport.stop();
      await inFlight.settle(graceMs);
      bot.stop();
    },
    connected: () => transport.connected(),
  };
}
