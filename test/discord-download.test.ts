import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadAttachment } from '../adapters/discord/download.ts';

const PNG_BYTES = new Uint8Array(5000).fill(7);
let server: Server;
let base: string;
const hits: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/slow.png') return void setTimeout(() => res.end(), 2000);
    const elsewhere = `${base.replace('127.0.0.1', 'localhost')}/a.png`;
    if (req.url === '/moved.png') return void res.writeHead(302, { location: elsewhere }).end();
    if (req.url === '/login.png') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html>log in</html>');
    res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_BYTES);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const limits = { maxBytes: 10_000, timeoutMs: 500, extraHostname: '127.0.0.1' };
const ref = (path: string, size = PNG_BYTES.byteLength, contentType: string | null = 'image/png') => ({
  url: `${base}${path}`,
  name: path.slice(1),
  size,
  contentType,
});

describe('downloading a Discord attachment', () => {
  it('GIVEN an image on the allowed host THEN it comes back whole', async () => {
    const result = await downloadAttachment(ref('/a.png'), limits);
    expect(result.ok && new Uint8Array(result.image.bytes)).toEqual(PNG_BYTES);
  });

  it('GIVEN a URL on any other host THEN nothing is fetched', async () => {
    const before = hits.length;
    const result = await downloadAttachment({ ...ref('/a.png'), url: ref('/a.png').url.replace('127.0.0.1', 'localhost') }, limits);
    expect(result).toMatchObject({ ok: false, text: expect.stringMatching(/could not download a\.png/) });
    expect(hits.length).toBe(before);
  });

  it('GIVEN a redirect to another host THEN the second hop is never fetched', async () => {
    const before = hits.length;
    const result = await downloadAttachment(ref('/moved.png'), limits);
    expect(result).toMatchObject({ ok: false, text: expect.stringMatching(/could not download moved\.png/) });
    expect(hits.slice(before)).toEqual(['/moved.png']);
  });

  it('GIVEN a file larger than the cap, even one that claimed to be small THEN it is refused as too large', async () => {
    expect(await downloadAttachment(ref('/a.png', 50_000), limits)).toMatchObject({ ok: false, text: expect.stringMatching(/limit/) });
    const small = { ...limits, maxBytes: 1000 };
    expect(await downloadAttachment(ref('/a.png', 900), small)).toMatchObject({ ok: false, text: expect.stringMatching(/limit/) });
  });

  it('GIVEN a server that does not answer in time THEN the download gives up at the timeout', async () => {
    const started = Date.now();
    expect(await downloadAttachment(ref('/slow.png'), limits)).toMatchObject({ ok: false });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('GIVEN a non-image, declared or served THEN the reply says it is not an image', async () => {
    expect(await downloadAttachment(ref('/notes.txt', 10, 'text/plain'), limits)).toMatchObject({ ok: false, text: expect.stringMatching(/notes\.txt as an image/) });
    expect(await downloadAttachment(ref('/login.png'), limits)).toMatchObject({ ok: false, text: expect.stringMatching(/login\.png as an image/) });
  });
});
