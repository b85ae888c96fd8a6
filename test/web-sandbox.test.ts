import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { start, type WebAdapter } from '../adapters/web/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { createLog } from '../src/log.ts';
import { until } from './helpers/bot-process.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

type SandboxEvent = { type: string; [key: string]: unknown };

/** One question as the page sends it; every server-sent event it gets back, in order. */
async function ask(url: string, body: Record<string, unknown>): Promise<SandboxEvent[]> {
  const response = await fetch(`${url}api/ask`, { method: 'POST', body: JSON.stringify(body) });
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const text = await response.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((event) => JSON.parse(event.replace(/^data: /, '')) as SandboxEvent);
}

// The page's own endpoint: how queue places, shared channels and numbered boxes reach the browser.
describe('GIVEN the sandbox endpoint over a bot whose answers wait until released', () => {
  let server: WebAdapter;
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let image: string;
  let engine: ScriptedEngine;
  let bot: ReturnType<typeof createBot>;
  const browser = 'browser-0001';

  beforeAll(async () => {
    const png = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#eee' } })
      .png()
      .toBuffer();
    image = `data:image/png;base64,${png.toString('base64')}`;
    engine = new ScriptedEngine(async () => {
      await held;
      return '<p>red circle</p> {<10><20><30><40>}';
    });
    bot = createBot({ engine, plugins: PLUGINS });
    const settings = { enabled: true, port: 0, host: '127.0.0.1', imageHosts: [] };
    server = await start(bot, settings, { apiKeys: [] }, { model: 'scripted', imageMegabytes: 1 }, createLog('silent'));
  });
  afterAll(() => server?.stop());

  test('WHEN two users ask at once in the shared channel THEN the second is told its queue place', async () => {
    const question = (user: string) => ({
      browser,
      user: { id: user },
      place: 'shared',
      command: 'refer',
      args: { phrase: 'the red circle' },
      image,
    });
    const first = ask(server.url, question('alice'));
    await until(() => engine.requests.length === 1, "alice's question to reach the model");
    const second = ask(server.url, question('bob'));
    await until(() => bot.queueLength() === 1, "bob's question to wait in the queue");
    release();
    const [alice, bob] = await Promise.all([first, second]);
    expect(alice.filter((e) => e.type === 'queued')).toEqual([]);
    expect(bob.filter((e) => e.type === 'queued')).toEqual([{ type: 'queued', position: 1 }]);
    const reply = bob.at(-1)!;
    expect(reply).toMatchObject({ type: 'reply', kind: 'answer', imageSize: { width: 200, height: 100 } });
    expect(reply.boxes).toEqual([
      { number: 1, entityIndex: 0, phrase: 'red circle', box: [20, 20, 60, 40], colour: 'rgb(255,0,0)' },
    ]);
    expect(reply.image).toMatch(/^data:image\/png;base64,/);
  });

  test("WHEN a user points at #1 in their direct chat THEN it is not the shared channel's box", async () => {
    const events = await ask(server.url, {
      browser,
      user: { id: 'bob' },
      place: 'direct',
      command: 'identify',
      args: { box: '#1' },
      image,
    });
    expect(events.at(-1)).toMatchObject({ type: 'reply', kind: 'user-error' });
    const shared = await ask(server.url, {
      browser,
      user: { id: 'bob' },
      place: 'shared',
      command: 'identify',
      args: { box: '#1' },
    });
    expect(shared.at(-1)).toMatchObject({ type: 'reply', kind: 'answer' });
  });

  test('WHEN the request is malformed or the image is not one THEN the page gets a reason', async () => {
    const bad = await fetch(`${server.url}api/ask`, { method: 'POST', body: JSON.stringify({ browser: 'x' }) });
    expect(bad.status).toBe(400);
    const notImage = await ask(server.url, {
      browser,
      user: { id: 'carol' },
      place: 'direct',
      command: 'caption',
      image: 'data:image/png;base64,aGVsbG8=',
    });
    expect(notImage.at(-1)).toMatchObject({
      type: 'reply',
      kind: 'user-error',
      text: expect.stringMatching(/as an image/),
    });
  });

  test("WHEN the typed text is over the chats' 1,000 characters THEN the page gets their words", async () => {
    const asked = engine.requests.length;
    const events = await ask(server.url, {
      browser,
      user: { id: 'dave' },
      place: 'direct',
      command: 'chat',
      args: { text: 'w'.repeat(1001) },
      image,
    });
    expect(events).toEqual([
      {
        type: 'reply',
        kind: 'user-error',
        text: 'Your message is 1001 characters long; the limit is 1000. Please shorten it.',
      },
    ]);
    expect(engine.requests).toHaveLength(asked);
  });
});
