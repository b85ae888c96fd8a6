import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type SlackAdapter } from '../adapters/slack/index.ts';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { FakeSocketMode } from './fakes/slack/socket.ts';
import { messageEnvelope } from './fakes/slack/requests.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

let fake: FakeSlack;
let link: FakeSocketMode;
let engine: ScriptedEngine;
let adapter: SlackAdapter;

beforeAll(async () => {
  fake = await FakeSlack.start();
  link = new FakeSocketMode(fake);
  engine = new ScriptedEngine((request) => `an answer about ${request.question}`);
  adapter = await start(
    createBot({ engine, plugins: PLUGINS }),
    { botToken: fake.botToken, appToken: fake.appToken, apiUrl: fake.apiUrl, apiRetries: 0 },
    { debug() {}, info() {}, warn() {}, error() {} },
    { env: {} },
  );
  await fake.waitFor(() => link.connected, 'the Socket Mode connection');
});

afterAll(async () => {
  await adapter?.stop();
  await link?.close();
  await fake?.close();
});

describe('Slack over Socket Mode', () => {
  it('opens no port, acknowledges each envelope and answers a retried event once', async () => {
    expect(adapter.port).toBeUndefined();
    const ts = '1850000000.000100';
    const body = messageEnvelope({
      team: fake.team,
      channel: 'C0SOCKET',
      user: 'U0ALICE',
      text: `<@${fake.botUserId}> what is this?`,
      ts,
      files: [fake.addFile(drawScene(11).png)],
      eventId: 'Ev0SOCKET1',
    });
    const first = link.sendEvent(body);
    const retry = link.sendEvent(body, 1);
    await fake.waitFor(() => [first, retry].every((id) => link.acks.some((a) => a.envelope_id === id)), 'both acks');
    const answer = await fake.waitFor(
      () => fake.thread('C0SOCKET', ts).find((m) => m.text.includes('an answer about what is this?') && !m.text.endsWith(MESSAGES.streamingMark)),
      'the answer',
    );
    expect(answer.threadTs).toBe(ts);
    // A later question, answered: a retry taken before it would have reached the model first.
    const laterTs = '1850000000.000200';
    link.sendEvent(
      messageEnvelope({
        team: fake.team,
        channel: 'C0SOCKET',
        user: 'U0ALICE',
        text: `<@${fake.botUserId}> and now?`,
        ts: laterTs,
        files: [fake.addFile(drawScene(12).png)],
        eventId: 'Ev0SOCKET2',
      }),
    );
    await fake.waitFor(
      () => fake.thread('C0SOCKET', laterTs).find((m) => m.text.includes('an answer about and now?') && !m.text.endsWith(MESSAGES.streamingMark)),
      'the later answer',
    );
    expect(fake.thread('C0SOCKET', ts)).toHaveLength(1);
    expect(engine.requests.map((r) => r.question)).toEqual(['what is this?', 'and now?']);
  });
});
