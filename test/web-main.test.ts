import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { start, type WebAdapter } from '../adapters/web/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { createLog } from '../src/log.ts';
import { botFolder, killBotProcesses, runBotProcess, startBotProcess, until } from './helpers/bot-process.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';
import { takenPort } from './helpers/taken-port.ts';

const PROCESS_TIMEOUT = 120_000;

/** A folder whose bot.yaml enables the web adapter, with no state kept. */
const webFolder = () => botFolder({ state: { file: ':memory:' }, web: { enabled: true } }, 'minigpt-web-main-');

describe('GIVEN npm start with web.enabled: true', () => {
  afterAll(killBotProcesses);

  test(
    'WHEN it starts THEN it prints the address, serves the page and the API there, and SIGTERM stops it',
    async () => {
      const bot = startBotProcess(webFolder(), { WEB_PORT: '0', API_KEYS: '' });
      const url = await until(
        () => /sandbox page and OpenAI-compatible API at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(bot.out())?.[1],
        `the address; stderr so far:\n${bot.err()}`,
        PROCESS_TIMEOUT,
      );
      const page = await fetch(url);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('<title>minigpt-bot sandbox</title>');
      const models = (await (await fetch(`${url}v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data).toHaveLength(1);
      expect(await bot.terminate()).toBe(0);
    },
    PROCESS_TIMEOUT,
  );

  test(
    'WHEN it is to listen beyond loopback without API_KEYS THEN start-up refuses in one line',
    async () => {
      const { code, stderr } = await runBotProcess(webFolder(), { WEB_HOST: '0.0.0.0' });
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([
        'minigpt-bot: web: host 0.0.0.0 is not loopback: ' +
          'set API_KEYS (and WEB_PASSWORD for the page), or WEB_HOST=127.0.0.1',
      ]);
    },
    PROCESS_TIMEOUT,
  );

  describe('AND its port is taken', () => {
    const port = takenPort();

    test(
      'THEN start-up names the setting in one line and exits 1',
      async () => {
        const { code, stdout, stderr } = await runBotProcess(webFolder(), { WEB_PORT: String(port()) });
        expect(code).toBe(1);
        expect(stdout).toBe('');
        expect(stderr.trim().split('\n')).toEqual([
          `minigpt-bot: web.port: cannot listen on 127.0.0.1:${port()} (EADDRINUSE); ` +
            'set WEB_PORT to a free port or web.enabled: false',
        ]);
      },
      PROCESS_TIMEOUT,
    );
  });
});

describe('GIVEN WEB_PASSWORD and API_KEYS', () => {
  let server: WebAdapter;
  const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;
  beforeAll(async () => {
    const engine = new ScriptedEngine(() => 'a red circle');
    const bot = createBot({
      engine,
      plugins: PLUGINS,
      settings: { limits: { perUser: { requests: 2, windowSeconds: 600 } } },
    });
    const settings = { enabled: true, port: 0, host: '127.0.0.1', imageHosts: [] };
    const secrets = { password: 'page-secret', apiKeys: ['sk-one', 'sk-two'] };
    server = await start(bot, settings, secrets, { model: 'scripted', imageMegabytes: 1 }, createLog('silent'));
  });
  afterAll(() => server?.stop());

  test('WHEN the page is opened without the password THEN the browser asks for it; with it, it loads', async () => {
    const without = await fetch(server.url);
    expect(without.status).toBe(401);
    expect(without.headers.get('www-authenticate')).toMatch(/^Basic realm="minigpt-bot"/);
    expect((await fetch(server.url, { headers: { authorization: basic('wrong') } })).status).toBe(401);
    expect((await fetch(server.url, { headers: { authorization: basic('page-secret') } })).status).toBe(200);
    expect((await fetch(`${server.url}api/commands`, { headers: { authorization: basic('sk-one') } })).status).toBe(
      200,
    );
  });

  test("WHEN the API is called without a key THEN it answers 401 in OpenAI's error shape", async () => {
    const response = await fetch(`${server.url}v1/models`);
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      error: {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    const withKey = await fetch(`${server.url}v1/models`, { headers: { authorization: 'Bearer sk-one' } });
    expect(((await withKey.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(['scripted']);
    const notJson = await fetch(`${server.url}v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-one', 'content-type': 'application/json' },
      body: '{"model": ',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toBe('the body is not valid JSON');
  });

  test('WHEN one key asks past its rate limit THEN it gets 429 with the wait; another key is answered', async () => {
    const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();
    const body = JSON.stringify({
      model: 'scripted',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is it?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
          ],
        },
      ],
    });
    const ask = (key: string) =>
      fetch(`${server.url}v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body });
    expect((await ask('sk-one')).status).toBe(200);
    expect((await ask('sk-one')).status).toBe(200);
    const limited = await ask('sk-one');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({
      error: {
        message: expect.stringMatching(/^You have reached the limit of 2 per 600 s; try again in \d+ s\.$/),
        type: 'rate_limit_exceeded',
        param: null,
        code: 'rate-limited',
      },
    });
    const other = await ask('sk-two');
    expect(other.status).toBe(200);
    expect(((await other.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(
      'a red circle',
    );
  });
});

describe('GIVEN web.imageHosts lists a local image host', () => {
  let server: WebAdapter;
  let host: HttpServer;
  let hostUrl: string;
  const seen: number[] = [];
  const png = sharp({ create: { width: 40, height: 30, channels: 3, background: '#3c3' } })
    .png()
    .toBuffer();
  beforeAll(async () => {
    const image = await png;
    host = createHttpServer((req, res) => {
      if (req.url === '/scene.png') return void res.writeHead(200, { 'content-type': 'image/png' }).end(image);
      if (req.url === '/page.html')
        return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      if (req.url === '/moved.png') return void res.writeHead(302, { location: '/scene.png' }).end();
      if (req.url === '/huge.png')
        return void res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(2 ** 21));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    hostUrl = `http://127.0.0.1:${(host.address() as { port: number }).port}`;
    const engine = new ScriptedEngine(async (request) => {
      seen.push(request.image.byteLength);
      return 'a green square';
    });
    const bot = createBot({ engine, plugins: PLUGINS });
    const settings = { enabled: true, port: 0, host: '127.0.0.1', imageHosts: ['127.0.0.1'] };
    server = await start(bot, settings, { apiKeys: [] }, { model: 'scripted', imageMegabytes: 1 }, createLog('silent'));
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise<void>((resolve) => host.close(() => resolve()));
  });

  const ask = async (url: string) => {
    const response = await fetch(`${server.url}v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({
        model: 'scripted',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'hi' },
              { type: 'image_url', image_url: { url } },
            ],
          },
        ],
      }),
    });
    const body = (await response.json()) as {
      error?: { message: string };
      choices?: { message: { content: string } }[];
    };
    return { status: response.status, text: body.error?.message ?? body.choices![0]!.message.content };
  };

  test('WHEN an image_url points there THEN the image is downloaded and answered about', async () => {
    expect(await ask(`${hostUrl}/scene.png`)).toEqual({ status: 200, text: 'a green square' });
    expect(seen).toEqual([(await png).byteLength]);
  });

  test('WHEN it serves a page, a redirect or too large a file THEN the request is refused and says why', async () => {
    expect(await ask(`${hostUrl}/page.html`)).toEqual({ status: 400, text: `${hostUrl}/page.html is not an image` });
    expect(await ask(`${hostUrl}/moved.png`)).toEqual({
      status: 400,
      text: `could not download the image from ${new URL(hostUrl).host}`,
    });
    expect(await ask(`${hostUrl}/huge.png`)).toEqual({ status: 400, text: 'the image is over the 1.0 MB limit' });
    expect(await ask('ftp://127.0.0.1/scene.png')).toEqual({
      status: 400,
      text: 'image_url must be a data URL or an http(s) URL',
    });
    expect(seen).toHaveLength(1);
  });
});
