import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startDiscord, type DiscordAdapter } from '../adapters/discord/index.ts';
import { Journal } from '../adapters/kit/journal.ts';
import { start as startSlack, type SlackAdapter } from '../adapters/slack/index.ts';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import { FakeDiscord, user } from './fakes/discord/index.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { until } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * An answer whose every post, edit and apology fails (5xx, dropped connections) is not left for a restart: the
 * running bot delivers it again once the platform takes calls again, through the real discord.js and Bolt.
 */

const SECRET = 'signing-secret-for-redelivery';
/** Short retries for the test; the defaults are 30 s, 2 min and 10 min. */
const REDELIVER_AFTER_MS = [200, 200, 200];
const png = drawScene(2).png;

/** A log that remembers its lines and lets a test wait for one: every wait bounded. */
class WatchedLog {
  readonly lines: { level: string; fields: object; message: string }[] = [];
  private readonly waiters = new Set<() => void>();
  readonly debug = (): void => undefined;
  readonly info = (): void => undefined;
  readonly warn = (fields: object, message = ''): void => this.push('warn', fields, message);
  readonly error = (fields: object, message = ''): void => this.push('error', fields, message);

  count(message: string): number {
    return this.lines.filter((l) => l.message === message).length;
  }

  /** Resolves once `message` has been logged `times` times; rejects after 10 s. */
  waitFor(message: string, times = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.count(message) < times) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`not logged ${times} times within 10 s: ${message}`));
      }, 10_000);
      this.waiters.add(check);
      check();
    });
  }

  private push(level: string, fields: object, message: string): void {
    this.lines.push({ level, fields, message });
    for (const waiter of [...this.waiters]) waiter();
  }
}

const STILL_UNDELIVERED = 'journal: answer still not delivered';

describe('GIVEN a Discord whose message posts and edits all fail for a while', () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;
  let store: SqliteConversationStore;
  const log = new WatchedLog();

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    store = new SqliteConversationStore(':memory:');
    const core = createBot({ engine: new ScriptedEngine(() => 'a red circle on white'), plugins: PLUGINS });
    const config = { token: fake.token, apiUrl: fake.apiUrl, redeliverAfterMs: REDELIVER_AFTER_MS };
    adapter = await startDiscord(core, config, log, { journal: store.journal() });
  });

  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    store?.close();
  });

  it('WHEN it recovers THEN the answer is posted as the reply to the question, once, without a restart', async () => {
    fake.fail('POST', /^\/channels\/\d+\/messages$/, { status: 503 });
    fake.fail('PATCH', /^\/channels\/\d+\/messages\/\d+$/, 'reset');
    const asked = fake.userMessage({
      channel: fake.channel,
      author: user('dana'),
      content: `<@${fake.botUser.id}> what is in the picture?`,
      mentions: [fake.botUser],
      attachments: [fake.attachment(png, 'scene.png', 'image/png')],
    });
    // The answer, then the apology, failed; then the first retry failed too.
    await log.waitFor('discord: answer not delivered; delivering again later');
    await log.waitFor(STILL_UNDELIVERED);
    expect(new Journal(store.journal(), 'discord', log).pending()).toHaveLength(1);
    fake.clearFaults();

    const replies = () => [...fake.messages.values()].filter((m) => m.message_reference?.message_id === asked.id);
    const answered = await fake.waitFor(() => {
      const found = replies();
      return found.some((m) => m.content.includes('a red circle on white')) ? found : undefined;
    }, 10_000);
    expect(answered).toHaveLength(1);
    expect(log.count(STILL_UNDELIVERED)).toBe(1);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
    await until(() => new Journal(store.journal(), 'discord', log).pending().length === 0, 'the journal empty', 5000);
  });

  it('WHEN a refusal (a message over the length limit) cannot be posted THEN it arrives once Discord recovers', async () => {
    const notDelivered = log.count('discord: answer not delivered; delivering again later');
    const stillUndelivered = log.count(STILL_UNDELIVERED);
    fake.fail('POST', /^\/channels\/\d+\/messages$/, 'reset');
    const asked = fake.userMessage({
      channel: fake.channel,
      author: user('erin'),
      content: `<@${fake.botUser.id}> ${'why '.repeat(300)}`,
      mentions: [fake.botUser],
    });
    await log.waitFor('discord: answer not delivered; delivering again later', notDelivered + 1);
    await log.waitFor(STILL_UNDELIVERED, stillUndelivered + 1);
    fake.clearFaults();
    const replies = () => [...fake.messages.values()].filter((m) => m.message_reference?.message_id === asked.id);
    const refused = await fake.waitFor(() => (replies().length > 0 ? replies() : undefined), 10_000);
    expect(refused.map((m) => m.content)).toEqual([
      'Your message is 1199 characters long; the limit is 1000. Please shorten it.',
    ]);
    await until(() => new Journal(store.journal(), 'discord', log).pending().length === 0, 'the journal empty', 5000);
  });
});

describe('GIVEN a Slack whose chat.postMessage and chat.update all fail for a while', () => {
  let fake: FakeSlack;
  let adapter: SlackAdapter;
  let store: SqliteConversationStore;
  const log = new WatchedLog();

  beforeAll(async () => {
    fake = await FakeSlack.start();
    store = new SqliteConversationStore(':memory:');
    const core = createBot({ engine: new ScriptedEngine(() => 'a blue square on grey'), plugins: PLUGINS });
    const config = {
      botToken: fake.botToken,
      signingSecret: SECRET,
      port: 0,
      host: '127.0.0.1',
      apiUrl: fake.apiUrl,
      apiRetries: 0,
      updateIntervalMs: 0,
      redeliverAfterMs: REDELIVER_AFTER_MS,
    };
    adapter = await startSlack(core, config, log, { env: {}, journal: store.journal() });
  });

  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
    store?.close();
  });

  it('WHEN it recovers THEN the thread gets the answer, once, without a restart', async () => {
    fake.fail('chat.postMessage', { status: 500 });
    fake.fail('chat.update', 'reset');
    const ts = '1900000300.000100';
    const files = [fake.addFile(png, { name: 'scene.png' })];
    const text = `<@${fake.botUserId}> what is it?`;
    const body = messageEnvelope({ team: fake.team, channel: 'C0LATER', user: 'U0GINA', text, ts, files });
    const url = `http://127.0.0.1:${String(adapter.port)}/slack/events`;
    expect((await sendSigned(url, SECRET, body, 'application/json')).status).toBe(200);
    await log.waitFor('slack answer not delivered; delivering again later');
    await log.waitFor(STILL_UNDELIVERED);
    expect(new Journal(store.journal(), 'slack', log).pending()).toHaveLength(1);
    fake.clearFaults();

    const thread = await fake.waitFor(() => {
      const now = fake.thread('C0LATER', ts).map((m) => m.text);
      return now.length > 0 && now;
    }, 'the answer in the thread');
    expect(thread).toEqual(['a blue square on grey']);
    expect(thread).not.toContain(MESSAGES.working);
    expect(log.count(STILL_UNDELIVERED)).toBe(1);
    expect(log.lines.filter((l) => l.level === 'error')).toEqual([]);
    await until(() => new Journal(store.journal(), 'slack', log).pending().length === 0, 'the journal empty', 5000);
  });
});
