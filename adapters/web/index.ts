import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { BotCore } from '../../src/bot/types.ts';
import type { Logger } from '../../src/log.ts';
import { chatCompletions, modelList } from './api.ts';
import { apiCaller, pageAllowed } from './auth.ts';
import { isLoopback, type WebSecrets, type WebSettings } from './config.ts';
import { BodyTooLarge, parseJson, readBody, sendApiError, sendJson } from './http.ts';
import { commandList, sandboxAsk } from './sandbox.ts';

const MEGABYTE = 1024 * 1024;
const PUBLIC = fileURLToPath(new URL('./public/', import.meta.url));
/** The page's files: plain HTML, CSS and JS served as they are, nothing fetched from elsewhere. */
const ASSETS: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

export interface WebOptions {
  /** The model's name, the one id /v1/models lists. */
  model: string;
  /** The framework's image limits: downloads and data URLs stop at the same size. */
  imageMegabytes: number;
}

export interface WebAdapter {
  url: string;
  port: number;
  stop(): Promise<void>;
  connected(): boolean;
}

/**
 * The sandbox page and the OpenAI-compatible API on one port, both over the same BotCore as the chat adapters.
 * The API takes bearer keys from API_KEYS when set; the page asks for WEB_PASSWORD (or an API key) when one is
 * set or when it listens beyond loopback.
 */
export async function start(
  core: BotCore,
  settings: WebSettings,
  secrets: WebSecrets,
  options: WebOptions,
  log: Logger,
): Promise<WebAdapter> {
  const maxBytes = options.imageMegabytes * MEGABYTE;
  const images = { maxBytes, timeoutMs: 20_000, hosts: settings.imageHosts };
  const reply = { imageBytes: 16 * MEGABYTE };
  const completions = chatCompletions({ core, model: options.model, images, reply });
  const ask = sandboxAsk({ core, images, reply });
  const pagePasswords = [...(secrets.password ? [secrets.password] : []), ...secrets.apiKeys];
  const pageGuarded = secrets.password !== undefined || !isLoopback(settings.host);
  // base64 makes an image a third larger; the rest of a request is small
  const maxBody = Math.ceil(maxBytes * 1.4) + MEGABYTE;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path.startsWith('/v1/')) {
      const caller = apiCaller(req, secrets.apiKeys);
      if (!caller)
        return sendApiError(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
      if (req.method === 'GET' && path === '/v1/models') return sendJson(res, 200, modelList(options.model));
      if (req.method === 'POST' && path === '/v1/chat/completions') {
        const body = parseJson(await readBody(req, maxBody));
        if (body === undefined) return sendApiError(res, 400, 'the body is not valid JSON', 'invalid_request_error');
        return completions(body, caller, res);
      }
      return sendApiError(res, 404, `no ${req.method} ${path} here`, 'invalid_request_error', 'unknown_url');
    }
    if (pageGuarded && !pageAllowed(req, pagePasswords)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="minigpt-bot", charset="UTF-8"' });
      return void res.end('password needed (WEB_PASSWORD)\n');
    }
    const asset = ASSETS[path];
    if (req.method === 'GET' && asset) {
      const text = await readFile(PUBLIC + asset[0]);
      res.writeHead(200, { 'content-type': asset[1], 'cache-control': 'no-cache' });
      return void res.end(text);
    }
    if (req.method === 'GET' && path === '/api/commands') return sendJson(res, 200, commandList(core));
    if (req.method === 'POST' && path === '/api/ask') {
      const body = parseJson(await readBody(req, maxBody));
      if (body === undefined) return sendJson(res, 400, { error: 'the body is not valid JSON' });
      return ask(body, res);
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (error instanceof BodyTooLarge) {
        res.setHeader('connection', 'close');
        return sendApiError(res, 413, error.message, 'invalid_request_error', 'request_too_large');
      }
      log.error({ err: error, url: req.url }, 'web: request failed');
      if (!res.headersSent) sendApiError(res, 500, 'internal error; it has been logged', 'server_error');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    connected: () => server.listening,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
