import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the bot made to the fake, as the fake understood it. */
export interface RecordedCall {
  /** Web API method (`chat.update`), or `upload`, `download`, `respond` for the other URLs. */
  method: string;
  path: string;
  authorization?: string;
  /** Form or JSON fields of the request (values as sent: JSON-encoded arguments stay strings). */
  params: Record<string, string>;
  body: Buffer;
}

/** A message in the fake workspace, as it reads now (after every edit). */
export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  edits: string[];
}

export interface FakeUpload {
  fileId: string;
  filename: string;
  bytes: Buffer;
  /** Set by files.completeUploadExternal. */
  channel?: string;
  threadTs?: string;
}

/**
 * What a Web API method does instead of answering: an HTTP status, a dropped connection, `ok: false`, or 'stall':
 * the call is never answered nor acted on (the caller is killed before it gets through).
 */
export type Fault = { status: number } | 'reset' | 'stall' | { error: string };

export interface FakeSlackOptions {
  botToken?: string;
  /** App-level token accepted by apps.connections.open (Socket Mode). */
  appToken?: string;
  team?: string;
  botUserId?: string;
}

const LOGIN_PAGE = '<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>';

/**
 * A local stand-in for Slack's Web API and file hosts on 127.0.0.1: the methods the bot calls, the upload URL
 * that files.uploadV2 posts to, private file downloads that check the bearer token (and one kind that answers
 * with the login page, as Slack does without files:read), and response URLs. Every request is recorded.
 */
export class FakeSlack {
  readonly botToken: string;
  readonly appToken: string;
  readonly team: string;
  readonly botUserId: string;
  readonly calls: RecordedCall[] = [];
  readonly messages: FakeMessage[] = [];
  readonly uploads = new Map<string, FakeUpload>();
  /** Web API methods that answer `{ ok: false }` (e.g. to make uploads fail without `files:write`). */
  readonly failing = new Set<string>();
  /** Calls answered 429 because they went over a method's budget (see `limit`). */
  readonly rateLimited: RecordedCall[] = [];
  private readonly faults = new Map<string, { fault: Fault; times: number }>();
  /** The workspace's user groups (usergroups.list), each with its members' ids. */
  readonly userGroups: { id: string; handle: string; users: string[] }[] = [];
  private readonly budgets = new Map<string, { calls: number; windowMs: number; sent: number[] }>();
  private readonly files = new Map<
    string,
    { bytes: Buffer; mimetype: string; loginPage: boolean; stallMs: number; redirectTo?: string }
  >();
  private nextId = 1;
  private clock = 1_700_000_000;

  private constructor(
    /** The HTTP server, for a Socket Mode link to share. */
    readonly server: Server,
    readonly url: string,
    options: FakeSlackOptions,
  ) {
    this.botToken = options.botToken ?? 'xoxb-fake-token';
    this.appToken = options.appToken ?? 'xapp-fake-token';
    this.team = options.team ?? 'T0TEAM';
    this.botUserId = options.botUserId ?? 'U0BOT';
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    let fake: FakeSlack | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req, res).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    fake = new FakeSlack(server, `http://127.0.0.1:${port}`, options);
    return fake;
  }

  /** The base URL to give the bot as its Slack API URL. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** Hosts a file the way Slack does; the result is the `files[]` entry of an event. */
  addFile(
    bytes: Uint8Array,
    options: { name?: string; mimetype?: string; loginPage?: boolean; stallMs?: number; redirectTo?: string } = {},
  ) {
    const id = `F${this.nextId++}`;
    const name = options.name ?? 'image.png';
    const mimetype = options.mimetype ?? 'image/png';
    this.files.set(id, {
      bytes: Buffer.from(bytes),
      mimetype,
      loginPage: options.loginPage ?? false,
      stallMs: options.stallMs ?? 0,
      ...(options.redirectTo ? { redirectTo: options.redirectTo } : {}),
    });
    return { id, name, mimetype, size: bytes.byteLength, url_private_download: `${this.url}/files-pri/${id}/${name}` };
  }

  /** Makes `method` fail the next `times` calls (every call when not given) the way `fault` says. */
  fail(method: string, fault: Fault, times = Number.POSITIVE_INFINITY): void {
    this.faults.set(method, { fault, times });
  }

  clearFaults(): void {
    this.faults.clear();
    this.failing.clear();
  }

  /**
   * Enforces a rate limit on `method` as Slack does per workspace: more than `calls` in any `windowMs` are
   * answered 429 with Retry-After (Slack's tier 3, ~50 a minute, is `limit(method, 50, 60_000)`).
   */
  limit(method: string, calls: number, windowMs: number): void {
    this.budgets.set(method, { calls, windowMs, sent: [] });
  }

  /** A response_url for a slash command payload. */
  responseUrl(): string {
    return `${this.url}/commands/${this.nextId++}`;
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  thread(channel: string, threadTs: string): FakeMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs);
  }

  /** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
  async waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', this.url).pathname;
    const authorization = req.headers.authorization;
    const contentType = req.headers['content-type'] ?? '';
    const record = (method: string, params: Record<string, string> = {}) =>
      this.calls.push({ method, path, authorization, params, body });

    if (req.method === 'GET' && path.startsWith('/files-pri/')) {
      record('download');
      return this.download(path, authorization, res);
    }
    if (path.startsWith('/upload/')) {
      record('upload');
      const upload = this.uploads.get(path.slice('/upload/'.length));
      if (!upload) return void res.writeHead(404).end();
      upload.bytes = await fileBytes(body, contentType);
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${upload.bytes.length}`);
    }
    if (path.startsWith('/commands/')) {
      record('respond', flatten(JSON.parse(body.toString() || '{}') as Record<string, unknown>));
      return void res.writeHead(200).end('ok');
    }
    if (!path.startsWith('/api/')) return void res.writeHead(404).end();
    const method = path.slice('/api/'.length);
    const params = contentType.includes('application/json')
      ? flatten(JSON.parse(body.toString() || '{}') as Record<string, unknown>)
      : Object.fromEntries(new URLSearchParams(body.toString()));
    record(method, params);
    const budget = this.budgets.get(method);
    if (budget) {
      const now = Date.now();
      budget.sent = budget.sent.filter((at) => at > now - budget.windowMs);
      if (budget.sent.length >= budget.calls) {
        this.rateLimited.push(this.calls.at(-1)!);
        const retryAfter = Math.ceil((budget.sent[0]! + budget.windowMs - now) / 1000);
        return void res.writeHead(429, { 'retry-after': String(retryAfter) }).end();
      }
      budget.sent.push(now);
    }
    const fault = this.faults.get(method);
    if (fault && fault.times > 0) {
      fault.times -= 1;
      if (fault.fault === 'reset') return void req.socket.destroy();
      if (fault.fault === 'stall') return;
      if ('status' in fault.fault) return void res.writeHead(fault.fault.status).end('fault');
      const error = fault.fault.error;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error }));
    }
    const json = (payload: object) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (method === 'apps.connections.open') {
      // Socket Mode: only the app-level token opens a link, to the WebSocket on this server.
      const ok = authorization === `Bearer ${this.appToken}`;
      return json(ok ? { ok, url: `${this.url.replace('http', 'ws')}/link` } : { ok, error: 'invalid_auth' });
    }
    if (authorization !== `Bearer ${this.botToken}`) return json({ ok: false, error: 'invalid_auth' });
    if (this.failing.has(method)) return json({ ok: false, error: 'missing_scope' });
    json(this.apiMethod(method, params));
  }

  private apiMethod(method: string, params: Record<string, string>): object {
    switch (method) {
      case 'views.open': {
        // A modal opens for the user who triggered it; the view comes back with Slack's id.
        if (!params.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        const view = JSON.parse(params.view ?? '{}') as Record<string, unknown>;
        return { ok: true, view: { id: `V${this.clock++}`, ...view } };
      }
      case 'chat.postEphemeral':
        return params.channel && params.user ? { ok: true, message_ts: `${this.clock++}.000200` } : { ok: false, error: 'user_not_in_channel' };
      case 'usergroups.list': {
        // Members are listed only when asked for with include_users, as Slack does.
        const withUsers = params.include_users === 'true';
        const usergroups = this.userGroups.map((g) => ({
          id: g.id,
          team_id: this.team,
          handle: g.handle,
          name: g.handle,
          user_count: g.users.length,
          ...(withUsers ? { users: g.users } : {}),
        }));
        return { ok: true, usergroups };
      }
      case 'auth.test':
        return {
          ok: true,
          url: 'https://fake.slack.test/',
          team: 'Fake Team',
          user: 'minigpt',
          team_id: this.team,
          user_id: this.botUserId,
          bot_id: 'B0BOT',
        };
      case 'chat.postMessage': {
        if (!params.channel || !params.text) return { ok: false, error: params.channel ? 'no_text' : 'channel_not_found' };
        const ts = `${this.clock++}.000100`;
        const message: FakeMessage = { channel: params.channel, ts, threadTs: params.thread_ts, text: params.text, edits: [] };
        this.messages.push(message);
        return { ok: true, channel: params.channel, ts, message: { text: params.text, ts } };
      }
      case 'chat.update': {
        const message = this.messages.find((m) => m.channel === params.channel && m.ts === params.ts);
        if (!message) return { ok: false, error: 'message_not_found' };
        if (!params.text) return { ok: false, error: 'no_text' };
        message.edits.push(params.text);
        message.text = params.text;
        return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
      }
      case 'chat.delete': {
        const at = this.messages.findIndex((m) => m.channel === params.channel && m.ts === params.ts);
        if (at < 0) return { ok: false, error: 'message_not_found' };
        this.messages.splice(at, 1);
        return { ok: true, channel: params.channel, ts: params.ts };
      }
      case 'files.getUploadURLExternal': {
        const fileId = `F${this.nextId++}`;
        this.uploads.set(fileId, { fileId, filename: params.filename ?? '', bytes: Buffer.alloc(0) });
        return { ok: true, upload_url: `${this.url}/upload/${fileId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal': {
        const files = JSON.parse(params.files ?? '[]') as { id: string; title?: string }[];
        for (const f of files) {
          const upload = this.uploads.get(f.id);
          if (!upload) return { ok: false, error: 'file_not_found' };
          upload.channel = params.channel_id;
          upload.threadTs = params.thread_ts;
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, title: f.title ?? '' })) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** Slack answers a missing or wrong token, and a token without files:read, with its login page and 200. */
  private async download(path: string, authorization: string | undefined, res: ServerResponse): Promise<void> {
    const id = path.split('/')[2] ?? '';
    const file = this.files.get(id);
    if (!file) return void res.writeHead(404).end();
    if (file.stallMs > 0) await new Promise((resolve) => setTimeout(resolve, file.stallMs));
    if (file.redirectTo) return void res.writeHead(302, { location: file.redirectTo }).end();
    if (file.loginPage || authorization !== `Bearer ${this.botToken}`) {
      return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LOGIN_PAGE);
    }
    res.writeHead(200, { 'content-type': file.mimetype, 'content-length': file.bytes.length }).end(file.bytes);
  }
}

function flatten(payload: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  );
}

/** files.uploadV2 posts the bytes as multipart form data; raw bodies are taken as they are. */
async function fileBytes(body: Buffer, contentType: string): Promise<Buffer> {
  if (!contentType.startsWith('multipart/form-data')) return body;
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
  for (const value of form.values()) {
    if (typeof value !== 'string') return Buffer.from(await value.arrayBuffer());
  }
  return Buffer.alloc(0);
}
