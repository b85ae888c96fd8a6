import type { Memory } from '../../adapters/kit/memory.ts';
import type { ConfigInput } from '../../adapters/slack/config.ts';
import { start, type Log, type SlackAdapter } from '../../adapters/slack/index.ts';
import { MESSAGES } from '../../adapters/slack/messages.ts';
import { PLUGINS } from '../../plugins/index.ts';
import { type BotOptions, createBot } from '../../src/bot/core.ts';
import { FakeSlack } from '../fakes/slack/server.ts';
import { messageEnvelope, sendSigned, slashCommandBody, type MessageSpec } from '../fakes/slack/requests.ts';

export const SIGNING_SECRET = 'signing-secret-for-tests';
/** Who asks, unless a test says otherwise. */
export const USER = 'U0ALICE';

const QUIET: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** One adapter started on the fake, and where it takes events. */
export interface StartedSlack {
  adapter: SlackAdapter;
  eventsUrl: string;
}

/**
 * A local Slack and the Slack adapters (the real Bolt app) started on it, each over its own bot with every plugin;
 * what tests send them (mentions with fresh timestamps, signed events) and read back (settled threads).
 */
export class SlackOnFake {
  private readonly running: SlackAdapter[] = [];
  private sent = 0;

  private constructor(
    readonly fake: FakeSlack,
    /** The seconds of every message timestamp, one per test file, so threads never collide. */
    private readonly tsSeconds: string,
  ) {}

  static async start(tsSeconds: string): Promise<SlackOnFake> {
    return new SlackOnFake(await FakeSlack.start(), tsSeconds);
  }

  /**
   * Starts an adapter on the fake over a bot made of `bot` (the scripted engine, settings, store): on 127.0.0.1, a
   * free port, the fake's token and URL, then `settings`; none of the shell's SLACK_* variables apply.
   */
  async adapter(
    bot: Omit<BotOptions, 'plugins'>,
    settings: Partial<ConfigInput> = {},
    options: { log?: Log; memory?: Memory } = {},
  ): Promise<StartedSlack> {
    const config = {
      botToken: this.fake.botToken,
      signingSecret: SIGNING_SECRET,
      port: 0,
      host: '127.0.0.1',
      apiUrl: this.fake.apiUrl,
      ...settings,
    };
    const core = createBot({ plugins: PLUGINS, ...bot });
    const adapter = await start(core, config, options.log ?? QUIET, { env: {}, memory: options.memory });
    this.running.push(adapter);
    return { adapter, eventsUrl: `http://127.0.0.1:${adapter.port}/slack/events` };
  }

  /** Stops one adapter (a restart then starts a new one on the same fake). */
  async stop(started: StartedSlack): Promise<void> {
    this.running.splice(this.running.indexOf(started.adapter), 1);
    await started.adapter.stop();
  }

  /** Stops the adapters still running, then the fake. */
  async close(): Promise<void> {
    for (const adapter of this.running.splice(0)) await adapter.stop();
    await this.fake.close();
  }

  /** A new timestamp, later than every one before it. */
  nextTs(): string {
    return `${this.tsSeconds}.${String(++this.sent).padStart(6, '0')}`;
  }

  /** A message from USER in `channel` that mentions the bot, with a fresh timestamp. */
  mention(channel: string, text: string, extra: Partial<MessageSpec> = {}): MessageSpec {
    const ts = this.nextTs();
    return { team: this.fake.team, channel, user: USER, text: `<@${this.fake.botUserId}> ${text}`, ts, ...extra };
  }

  /** Posts `event` (a message spec, or a whole envelope) as Slack does, signed; `retryNum` marks a redelivery. */
  send(eventsUrl: string, event: MessageSpec | string, retryNum?: number): Promise<Response> {
    const body = typeof event === 'string' ? event : messageEnvelope(event);
    return sendSigned(eventsUrl, SIGNING_SECRET, body, 'application/json', retryNum === undefined ? {} : { retryNum });
  }

  /** Runs `command` with `text` as USER in `channel`, as Slack posts it; later replies go to `responseUrl`. */
  slash(eventsUrl: string, channel: string, command: string, text: string, responseUrl = this.fake.responseUrl()) {
    const body = slashCommandBody({ command, text, team: this.fake.team, channel, user: USER, responseUrl });
    return sendSigned(eventsUrl, SIGNING_SECRET, body, 'application/x-www-form-urlencoded');
  }

  /** The thread's messages once `count` of them are there and none shows a placeholder or the streaming mark. */
  settledThread(channel: string, threadTs: string, count = 1) {
    return this.fake.waitFor(() => {
      const messages = this.fake.thread(channel, threadTs);
      const settled = (text: string) => !text.includes(MESSAGES.working) && !text.endsWith(MESSAGES.streamingMark);
      return messages.length >= count && messages.every((m) => settled(m.text)) && messages;
    }, `an answer in thread ${threadTs}`);
  }
}
