import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallBudget } from '../adapters/kit/budget.ts';
import { MESSAGE_MAX_BYTES, ThreadReply, type ThreadTarget } from '../adapters/slack/encode.ts';
import { escapeText } from '../adapters/slack/escape.ts';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { FakeSlack } from './fakes/slack/server.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
let fake: FakeSlack;
let client: webApi.WebClient;

beforeAll(async () => {
  fake = await FakeSlack.start();
  client = new webApi.WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(() => fake.close());

describe('escaping', () => {
  it('escapes Slack markup characters in model text', () => {
    expect(escapeText('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
  });
});

/** A reply with its own workspace budget (one call per 10 ms: never the limit here) and `minIntervalMs` per message. */
const threadReply = (target: ThreadTarget, minIntervalMs: number) =>
  new ThreadReply({ client, target, pacing: { budget: new CallBudget(10), lane: 'T1', minIntervalMs }, log: quiet });

describe('a reply streamed into a thread', () => {
  it('edits one message at most once per interval, in order, and ends with the final text', async () => {
    const reply = threadReply({ channel: 'C1', threadTs: '1.1' }, 100);
    await reply.begin(MESSAGES.working);
    const started = Date.now();
    let text = '';
    while (Date.now() - started < 450) {
      text += 'word ';
      reply.onText(text.trim());
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await reply.finish({ kind: 'answer', text: 'the final answer' });
    const [message] = fake.thread('C1', '1.1');
    expect(fake.thread('C1', '1.1')).toHaveLength(1);
    expect(message?.text).toBe('the final answer');
    // ~450 ms at one edit per 100 ms: a handful of edits, not one per word.
    expect(message!.edits.length).toBeGreaterThanOrEqual(3);
    expect(message!.edits.length).toBeLessThanOrEqual(7);
    const streamed = message!.edits.slice(0, -1).map((e) => e.length);
    expect(streamed).toEqual([...streamed].sort((a, b) => a - b));
  });

  it('posts the rest of a long answer as further messages in the same thread', async () => {
    const reply = threadReply({ channel: 'C2', threadTs: '2.2' }, 0);
    await reply.finish({ kind: 'answer', text: 'word '.repeat(2000) });
    const messages = fake.thread('C2', '2.2');
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.every((m) => Buffer.byteLength(m.text) <= MESSAGE_MAX_BYTES)).toBe(true);
  });

  it('uploads the image into the thread, and says so in the thread when the upload fails', async () => {
    const image = { bytes: new Uint8Array([137, 80, 78, 71]), mime: 'image/png' as const, name: 'answer.png' };
    await threadReply({ channel: 'C3', threadTs: '3.3' }, 0).finish({ kind: 'answer', text: 'boxed', image });
    const upload = [...fake.uploads.values()].find((u) => u.threadTs === '3.3');
    expect(upload).toMatchObject({ channel: 'C3', filename: 'answer.png' });
    expect([...upload!.bytes]).toEqual([137, 80, 78, 71]);

    fake.failing.add('files.getUploadURLExternal');
    await threadReply({ channel: 'C4', threadTs: '4.4' }, 0).finish({ kind: 'answer', text: 'boxed', image });
    fake.failing.clear();
    expect(fake.thread('C4', '4.4').map((m) => m.text)).toEqual(['boxed', MESSAGES.uploadFailed]);
  });
});
