import { webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeText, MESSAGE_MAX_BYTES, splitMessage, ThreadReply } from '../adapters/slack/encode.ts';
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

describe('splitting long answers', () => {
  it('keeps every message under the byte limit and loses no text', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: ünïcödé words that go on`).join('\n');
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
    expect(parts.join('\n').replace(/\s+/g, ' ')).toBe(text.replace(/\s+/g, ' '));
  });

  it('closes a code block cut in two and reopens it in the next message', () => {
    const code = `\`\`\`\n${'x = 1\n'.repeat(1000)}\`\`\``;
    const parts = splitMessage(code, 500);
    for (const part of parts) expect(part.split('```').length % 2).toBe(1);
  });

  it('leaves short text alone and escapes Slack markup characters in model text', () => {
    expect(splitMessage('a short answer')).toEqual(['a short answer']);
    expect(escapeText('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
  });
});

describe('a reply streamed into a thread', () => {
  it('edits one message at most once per interval, in order, and ends with the final text', async () => {
    const reply = new ThreadReply(client, { channel: 'C1', threadTs: '1.1' }, 100, quiet);
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
    const reply = new ThreadReply(client, { channel: 'C2', threadTs: '2.2' }, 0, quiet);
    await reply.finish({ kind: 'answer', text: 'word '.repeat(2000) });
    const messages = fake.thread('C2', '2.2');
    expect(messages.length).toBeGreaterThanOrEqual(3);
    expect(messages.every((m) => Buffer.byteLength(m.text) <= MESSAGE_MAX_BYTES)).toBe(true);
  });

  it('uploads the image into the thread, and says so in the thread when the upload fails', async () => {
    const image = { bytes: new Uint8Array([137, 80, 78, 71]), mime: 'image/png' as const, name: 'answer.png' };
    await new ThreadReply(client, { channel: 'C3', threadTs: '3.3' }, 0, quiet).finish({ kind: 'answer', text: 'boxed', image });
    const upload = [...fake.uploads.values()].find((u) => u.threadTs === '3.3');
    expect(upload).toMatchObject({ channel: 'C3', filename: 'answer.png' });
    expect([...upload!.bytes]).toEqual([137, 80, 78, 71]);

    fake.failing.add('files.getUploadURLExternal');
    await new ThreadReply(client, { channel: 'C4', threadTs: '4.4' }, 0, quiet).finish({ kind: 'answer', text: 'boxed', image });
    fake.failing.clear();
    expect(fake.thread('C4', '4.4').map((m) => m.text)).toEqual(['boxed', MESSAGES.uploadFailed]);
  });
});
