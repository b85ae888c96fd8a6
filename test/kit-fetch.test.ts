import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cappedFetch, type FetchPolicy } from '../adapters/kit/fetch.ts';
import { drawScene } from './helpers/scene.ts';

const png = Buffer.from(drawScene(5).png);
const seen: { path: string; host: string; authorization?: string }[] = [];
let server: Server;
let base: string;
/** The same server under another host name, which the policy does not allow. */
let elsewhere: string;

function serve(req: IncomingMessage, res: import('node:http').ServerResponse): void {
  const path = req.url ?? '/';
  seen.push({ path, host: req.headers.host ?? '', authorization: req.headers.authorization });
  if (path === '/img')
    return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length }).end(png);
  if (path === '/hop') return void res.writeHead(302, { location: '/img' }).end();
  if (path === '/away') return void res.writeHead(302, { location: `${elsewhere}/img` }).end();
  if (path === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
  if (path === '/html') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
  if (path === '/declared')
    return void res.writeHead(200, { 'content-type': 'image/png', 'content-length': 10_000 }).end(Buffer.alloc(10_000));
  if (path === '/undeclared') {
    res.writeHead(200, { 'content-type': 'image/png' });
    for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
    return void res.end();
  }
  res.writeHead(404).end();
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;
  elsewhere = `http://localhost:${port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const policy = (overrides: Partial<FetchPolicy> = {}): FetchPolicy => ({
  allowed: (url) => url.hostname === '127.0.0.1',
  maxBytes: 5000,
  timeoutMs: 2000,
  headers: { Authorization: 'Bearer secret' },
  accepts: (type) => type.startsWith('image/'),
  ...overrides,
});

describe('a capped fetch', () => {
  it('returns the exact bytes and type, following a redirect that stays on an allowed host', async () => {
    const result = await cappedFetch(`${base}/hop`, policy({ maxBytes: 1024 * 1024 }));
    expect(result.ok && Buffer.from(result.bytes).equals(png)).toBe(true);
    expect(result.ok && result.contentType).toBe('image/png');
  });

  it('checks the host on every redirect hop, and never sends the token to a refused one', async () => {
    seen.length = 0;
    const result = await cappedFetch(`${base}/away`, policy());
    expect(result).toMatchObject({ ok: false, reason: 'untrusted-url', detail: elsewhere });
    expect(seen.map((s) => s.path)).toEqual(['/away']);
  });

  it('refuses a URL on another host before any request', async () => {
    seen.length = 0;
    expect(await cappedFetch(`${elsewhere}/img`, policy())).toMatchObject({ ok: false, reason: 'untrusted-url' });
    expect(seen).toEqual([]);
  });

  it('gives up on a redirect loop', async () => {
    expect(await cappedFetch(`${base}/loop`, policy())).toMatchObject({
      ok: false,
      reason: 'failed',
      detail: 'too many redirects',
    });
  });

  it('refuses a body over the cap, by its declared length or by what arrives', async () => {
    expect(await cappedFetch(`${base}/declared`, policy())).toMatchObject({ ok: false, reason: 'too-large' });
    expect(await cappedFetch(`${base}/undeclared`, policy())).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('refuses a content type the caller does not read, before reading it', async () => {
    expect(await cappedFetch(`${base}/html`, policy())).toMatchObject({
      ok: false,
      reason: 'wrong-type',
      contentType: 'text/html',
    });
  });
});
