import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile, type DownloadLimits } from '../adapters/slack/download.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { drawScene } from './helpers/scene.ts';

const png = drawScene(7).png;
let fake: FakeSlack;
let limits: DownloadLimits;

beforeAll(async () => {
  fake = await FakeSlack.start();
  limits = { maxBytes: 1024 * 1024, timeoutMs: 2000, trustedOrigins: [new URL(fake.url).origin] };
});
afterAll(() => fake.close());

describe('downloading a Slack file', () => {
  it('fetches url_private_download with the bot token and returns the exact bytes', async () => {
    const file = fake.addFile(png, { name: 'scene.png' });
    const result = await downloadFile(file, fake.botToken, limits);
    expect(result.ok && Buffer.from(result.image.bytes).equals(Buffer.from(png))).toBe(true);
    expect(result.ok && result.image.contentType).toBe('image/png');
    expect(fake.callsTo('download').at(-1)?.authorization).toBe(`Bearer ${fake.botToken}`);
  });

  it('recognises the HTML login page Slack sends for a token without files:read, or a wrong token', async () => {
    expect(await downloadFile(fake.addFile(png, { loginPage: true }), fake.botToken, limits)).toMatchObject({ ok: false, reason: 'login-page' });
    expect(await downloadFile(fake.addFile(png), 'xoxb-someone-else', limits)).toMatchObject({ ok: false, reason: 'login-page' });
  });

  it('refuses files over the cap, by their declared size or by what actually arrives', async () => {
    const small = { ...limits, maxBytes: 1000 };
    const before = fake.callsTo('download').length;
    expect(await downloadFile(fake.addFile(png), fake.botToken, small)).toMatchObject({ ok: false, reason: 'too-large' });
    expect(fake.callsTo('download').length).toBe(before);
    const understated = { ...fake.addFile(png), size: 10 };
    expect(await downloadFile(understated, fake.botToken, small)).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('never sends the token to a host that is not Slack or the configured API', async () => {
    const file = fake.addFile(png);
    const before = fake.calls.length;
    for (const url of ['https://evil.example.com/files-pri/F1/a.png', 'http://files.slack.com/files-pri/F1/a.png', 'not a url']) {
      const result = await downloadFile({ ...file, url_private_download: url }, fake.botToken, limits);
      expect(result.ok).toBe(false);
    }
    expect(fake.calls.length).toBe(before);
  });

  it('gives up after the timeout', async () => {
    const started = Date.now();
    const result = await downloadFile(fake.addFile(png, { stallMs: 1500 }), fake.botToken, { ...limits, timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1400);
  });
});
