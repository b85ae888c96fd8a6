import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeGateway, type Shard, shardOf } from './gateway.ts';
import {
  guildCreate,
  memberPayload,
  messagePayload,
  role,
  messageCommand,
  modalSubmit,
  slashCommand,
  snowflake,
  snowflakeOnShard,
  textChannel,
  thread,
  user,
  type FakeAttachment,
  type FakeChannel,
  type FakeGuild,
  type FakeMessage,
  type FakeUser,
} from './payloads.ts';
import { decodeRequest, type RecordedRequest } from './rest.ts';

export * from './payloads.ts';
export type { RecordedRequest } from './rest.ts';

/** The Message Content intent's bit, and the interaction callback that opens a modal. */
const MESSAGE_CONTENT_INTENT = 1 << 15;
const MODAL_CALLBACK = 9;

/** Longest any wait in a test may take: every loop on the fake is bounded. */
const WAIT_LIMIT_MS = 10_000;
/** Discord's limit on a message's content, in characters. */
const MESSAGE_LIMIT = 2000;

type Reply = { status: number; body?: unknown };

export interface FakeDiscordOptions {
  /** Discord's is about 41 s; a test that wants to see heartbeats asks for less. */
  heartbeatIntervalMs?: number;
  /** Whether the app may use the privileged intents (the portal's switches); on unless a test says otherwise. */
  privilegedIntents?: boolean;
  /** The shard count GET /gateway/bot recommends (1 unless given; Discord's grows with the bot's guilds). */
  shards?: number;
  /** The fewest shards Discord accepts (it requires sharding from 2,500 guilds on): fewer are closed with 4011. */
  requiredShards?: number;
  /** How many shards may identify at once (`session_start_limit.max_concurrency`): 1 for most bots. */
  maxConcurrency?: number;
  /** `[id, count]`: the guild's id is made so that, with `count` shards, its events go to shard `id`. */
  guildShard?: Shard;
}

/**
 * What a REST route does instead of answering: an HTTP status (a 5xx; a 429 with `retryAfter` seconds, sent the way
 * Discord sends a rate limit), a dropped connection, or 'stall': Discord acts on the call but its response never
 * comes (the caller is killed while waiting for it).
 */
export type Fault = { status: number; retryAfter?: number } | 'reset' | 'stall';
type Route = (request: RecordedRequest, match: RegExpMatchArray) => Reply;

/**
 * A local Discord: REST under /api/v10, a gateway WebSocket at /gateway, attachments served from /attachments.
 * It keeps one guild with a text channel and a thread, records every REST request, and lets a test push
 * gateway dispatches as if users had typed them; the gateway shards and resumes as Discord's does (gateway.ts).
 */
export class FakeDiscord {
  readonly token = 'fake-bot-token';
  readonly application = { id: snowflake(), name: 'minigpt-bot-test', flags: 0 };
  readonly botUser: FakeUser = { ...user('minigpt-bot', true), id: this.application.id };
  readonly guild: FakeGuild;
  readonly channel: FakeChannel;
  readonly thread: FakeChannel;
  /** A second text channel, where the bot is not configured to answer without a mention. */
  readonly quiet: FakeChannel;
  /** Paths fetched from the fake CDN, in order. */
  readonly downloads: string[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Requests answered 429 by a fault. */
  readonly rateLimited: RecordedRequest[] = [];
  /** Registered commands: key 'global' or a guild id. */
  readonly commands = new Map<string, Record<string, unknown>[]>();
  readonly messages = new Map<string, FakeMessage>();
  readonly gateway: FakeGateway;
  private readonly files = new Map<string, { bytes: Uint8Array; contentType: string }>();
  private readonly server: Server;
  private readonly waiters = new Set<() => void>();
  private readonly routes: [string, RegExp, Route][];
  private ready = false;
  /** Interaction token → its channel, and the reply each token's callback created. */
  private readonly interactionChannel = new Map<string, string>();
  private readonly faults: { method: string; path: RegExp; fault: Fault; times: number }[] = [];
  private readonly originals = new Map<string, FakeMessage>();

  /** Modals the bot opened (interaction callback type 9), by interaction token. */
  readonly modals = new Map<string, { custom_id: string; title: string; components: unknown[] }>();

  private constructor(readonly url: string, server: Server, private readonly options: FakeDiscordOptions) {
    this.server = server;
    const guildId = options.guildShard ? snowflakeOnShard(options.guildShard) : snowflake();
    this.channel = textChannel(guildId, 'general');
    this.quiet = textChannel(guildId, 'quiet');
    this.thread = thread(this.channel, 'a thread', this.botUser.id);
    this.guild = {
      id: guildId,
      name: 'Test guild',
      channels: [this.channel, this.quiet],
      threads: [this.thread],
      roles: [role('artists'), role('muted')],
    };
    this.gateway = new FakeGateway({
      token: this.token,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      privilegedIntents: options.privilegedIntents ?? true,
      requiredShards: options.requiredShards ?? 1,
      onReceive: () => this.notify(),
      onIdentify: ({ shard, sessionId }) => {
        this.ready = true;
        this.notify();
        const guildHere = shardOf(this.guild.id, shard[1]) === shard[0];
        return [
          {
            t: 'READY',
            d: {
              v: 10,
              user: this.botUser,
              guilds: guildHere ? [{ id: this.guild.id, unavailable: true }] : [],
              session_id: sessionId,
              resume_gateway_url: this.gatewayUrl,
              shard,
              application: { id: this.application.id, flags: this.application.flags },
              private_channels: [],
            },
          },
          ...(guildHere ? [{ t: 'GUILD_CREATE', d: guildCreate(this.guild, this.botUser) }] : []),
        ];
      },
    });
    this.routes = this.makeRoutes();
  }

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeDiscord(`http://127.0.0.1:${port}`, server, options);
    server.on('request', (req, res) => void fake.serve(req, res));
    server.on('upgrade', (req, socket, head) => {
      if (req.url?.startsWith('/gateway')) fake.gateway.upgrade(req, socket, head);
      else socket.destroy();
    });
    return fake;
  }

  /** What DISCORD_API_URL is set to for the bot. */
  get apiUrl(): string {
    return `${this.url}/api`;
  }

  get gatewayUrl(): string {
    return `${this.url.replace('http', 'ws')}/gateway`;
  }

  /** Stores bytes as an attachment on the fake CDN, described the way Discord describes it. */
  attachment(bytes: Uint8Array, filename: string, contentType: string): FakeAttachment {
    const id = snowflake();
    const url = `${this.url}/attachments/${this.channel.id}/${id}/${encodeURIComponent(filename)}`;
    this.files.set(new URL(url).pathname, { bytes, contentType });
    return { id, filename, size: bytes.byteLength, url, proxy_url: url, content_type: contentType };
  }

  /** Makes `method` requests whose path matches `path` fail the next `times` times (every time when not given). */
  fail(method: string, path: RegExp, fault: Fault, times = Number.POSITIVE_INFINITY): void {
    this.faults.push({ method, path, fault, times });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * A user's message arriving over the gateway; returns what was sent. `roles` are the author's role ids in the
   * guild, carried by the event's `member` as Discord does.
   */
  userMessage(fields: Parameters<typeof messagePayload>[0] & { roles?: string[] }): FakeMessage {
    const message = messagePayload(fields);
    this.messages.set(message.id, message);
    const member = message.guild_id ? { member: memberPayload(fields.roles ?? []) } : {};
    const seen = this.asBotSees(message);
    const referenced = seen.referenced_message ? { referenced_message: this.asBotSees(seen.referenced_message as FakeMessage) } : {};
    // The gateway event names the channel's type (REST message objects do not): a DM is known by it.
    this.gateway.dispatch('MESSAGE_CREATE', { ...seen, ...referenced, ...member, channel_type: fields.channel.type });
    return message;
  }

  /**
   * A message as the bot receives it. Without the Message Content intent Discord sends empty content, embeds and
   * attachments for guild messages that neither mention the bot nor come from it, over the gateway and over REST.
   */
  asBotSees(message: FakeMessage): FakeMessage {
    const contentIntent = (this.gateway.intents & MESSAGE_CONTENT_INTENT) !== 0;
    const visible =
      contentIntent ||
      message.guild_id === undefined ||
      message.author.id === this.botUser.id ||
      message.mentions.some((u) => u.id === this.botUser.id);
    return visible ? message : { ...message, content: '', embeds: [], attachments: [] };
  }

  /** Waits for a request matching `predicate`, made after `since` (ms timestamp). */
  async waitForRequest(predicate: (r: RecordedRequest) => boolean, since = 0, timeoutMs = WAIT_LIMIT_MS): Promise<RecordedRequest> {
    const found = await this.waitFor(() => this.requests.find((r) => r.at >= since && predicate(r)), timeoutMs);
    return found;
  }

  async waitForReady(timeoutMs = WAIT_LIMIT_MS): Promise<void> {
    await this.waitFor(() => (this.ready ? true : undefined), timeoutMs);
  }

  async close(): Promise<void> {
    this.gateway.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves with the first defined value of `check`, re-checked after every request and gateway payload
   * (so only state the fake changes belongs in it); rejects after the timeout. */
  waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        clearTimeout(timer);
        this.waiters.delete(listener);
        resolve(value);
        return true;
      };
      const listener = (): void => void attempt();
      const timer = setTimeout(() => {
        this.waiters.delete(listener);
        reject(new Error(`fake Discord: nothing matched within ${timeoutMs} ms`));
      }, timeoutMs);
      if (!attempt()) this.waiters.add(listener);
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const file = this.files.get(url.pathname);
    if (req.method === 'GET' && file) {
      this.downloads.push(url.pathname);
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.bytes.byteLength });
      res.end(file.bytes);
      return;
    }
    if (!url.pathname.startsWith('/api/v10/')) return json(res, 404, { message: '404: Not Found', code: 0 });
    const path = decodeURIComponent(url.pathname.slice('/api/v10'.length));
    const recorded = await decodeRequest(req, path, url.searchParams);
    this.requests.push(recorded);
    const fault = this.faults.find((f) => f.times > 0 && f.method === recorded.method && f.path.test(path));
    if (fault) {
      fault.times -= 1;
      this.notify();
      if (fault.fault === 'reset') return void req.socket.destroy();
      if (fault.fault === 'stall') {
        this.route(recorded);
        return this.notify();
      }
      if (fault.fault.status === 429) {
        this.rateLimited.push(recorded);
        return rateLimit(res, fault.fault.retryAfter ?? 1);
      }
      return json(res, fault.fault.status, { message: `${fault.fault.status}: fault`, code: 0 });
    }
    const reply = this.route(recorded);
    json(res, reply.status, reply.body);
    this.notify();
  }

  private route(request: RecordedRequest): Reply {
    const content = (request.body as { content?: unknown; data?: { content?: unknown } } | undefined)?.content;
    if (typeof content === 'string' && content.length > MESSAGE_LIMIT) {
      // Discord refuses a message over 2,000 characters outright.
      return { status: 400, body: { message: 'Invalid Form Body', code: 50035, errors: { content: { _errors: [] } } } };
    }
    for (const [method, pattern, handler] of this.routes) {
      const match = request.path.match(pattern);
      if (match && method === request.method) {
        const needsBotToken = !request.path.startsWith('/interactions/') && !request.path.startsWith('/webhooks/');
        if (needsBotToken && request.authorization !== `Bot ${this.token}`) {
          return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
        }
        return handler(request, match);
      }
    }
    return { status: 404, body: { message: `404: no route for ${request.method} ${request.path}`, code: 0 } };
  }

  /** A message the bot posted (channel message, interaction reply, follow-up), with its uploads as attachments. */
  private botMessage(channelId: string, request: RecordedRequest, existing?: FakeMessage): FakeMessage {
    const body = (request.body ?? {}) as { content?: string; flags?: number };
    const attachments = request.files.map((f) => ({
      id: snowflake(),
      filename: f.name,
      size: f.bytes.byteLength,
      url: `${this.url}/attachments/${channelId}/uploaded/${f.name}`,
      proxy_url: `${this.url}/attachments/${channelId}/uploaded/${f.name}`,
      content_type: f.contentType,
    }));
    const channel = this.knownChannel(channelId);
    const message = existing ?? messagePayload({ channel, author: this.botUser, content: '' });
    message.content = body.content ?? message.content;
    if (request.files.length > 0) message.attachments = attachments;
    if (existing) message.edited_timestamp = new Date().toISOString();
    message.flags = body.flags ?? message.flags;
    this.messages.set(message.id, message);
    return message;
  }

  private makeRoutes(): [string, RegExp, Route][] {
    const { interactionChannel, originals } = this;
    const commandsKey = (match: RegExpMatchArray): string => match[2] ?? 'global';
    return [
      ['GET', /^\/gateway\/bot$/, () => ({
        status: 200,
        body: {
          url: this.gatewayUrl,
          shards: this.options.shards ?? 1,
          session_start_limit: {
            total: 1000,
            remaining: 999,
            reset_after: 14_400_000,
            max_concurrency: this.options.maxConcurrency ?? 1,
          },
        },
      })],
      ['GET', /^\/(oauth2\/)?applications\/@me$/, () => ({ status: 200, body: { ...this.application, bot: this.botUser, bot_public: true, description: '' } })],
      ['GET', /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/, (_r, m) => ({ status: 200, body: this.commands.get(commandsKey(m)) ?? [] })],
      ['PUT', /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/, (r, m) => {
        const stored = (r.body as Record<string, unknown>[]).map((command) => registered(command, this.application.id, m[2]));
        this.commands.set(commandsKey(m), stored);
        return { status: 200, body: stored };
      }],
      ['POST', /^\/interactions\/(\d+)\/([^/]+)\/callback$/, (r, m) => {
        const token = m[2]!;
        const { type, data = {} } = r.body as { type: number; data?: { content?: string; flags?: number } };
        if (type === MODAL_CALLBACK) {
          // A modal is shown to the user and creates no message.
          this.modals.set(token, data as { custom_id: string; title: string; components: unknown[] });
          return { status: 204 };
        }
        const channelId = interactionChannel.get(token) ?? this.channel.id;
        originals.set(token, this.botMessage(channelId, { ...r, body: data }));
        return { status: 204 };
      }],
      ['PATCH', /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/, (r, m) => {
        const original = originals.get(m[2]!);
        if (!original) return { status: 404, body: { message: 'Unknown Webhook', code: 10015 } };
        return { status: 200, body: this.botMessage(original.channel_id, r, original) };
      }],
      ['DELETE', /^\/webhooks\/(\d+)\/([^/]+)\/messages\/@original$/, (_r, m) => {
        const original = originals.get(m[2]!);
        if (original) this.messages.delete(original.id);
        return { status: 204 };
      }],
      ['POST', /^\/webhooks\/(\d+)\/([^/]+)$/, (r, m) => {
        const channelId = originals.get(m[2]!)?.channel_id ?? this.channel.id;
        return { status: 200, body: this.botMessage(channelId, r) };
      }],
      ['POST', /^\/channels\/(\d+)\/messages$/, (r, m) => {
        const message = this.botMessage(m[1]!, r);
        const reference = (r.body as { message_reference?: { message_id: string } }).message_reference;
        if (reference) message.message_reference = { message_id: reference.message_id, channel_id: m[1]! };
        this.gateway.dispatch('MESSAGE_CREATE', message);
        return { status: 200, body: message };
      }],
      ['PATCH', /^\/channels\/(\d+)\/messages\/(\d+)$/, (r, m) => {
        const existing = this.messages.get(m[2]!);
        if (!existing) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
        return { status: 200, body: this.botMessage(m[1]!, r, existing) };
      }],
      ['DELETE', /^\/channels\/(\d+)\/messages\/(\d+)$/, (_r, m) => {
        if (!this.messages.delete(m[2]!)) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
        return { status: 204 };
      }],
      ['GET', /^\/channels\/(\d+)\/messages$/, (r, m) => {
        // Discord's "Get Channel Messages" with `after`: the newest first, at most `limit` (50 unless given).
        const after = BigInt(r.query.get('after') ?? '0');
        const limit = Number(r.query.get('limit') ?? '50');
        const inChannel = [...this.messages.values()].filter((message) => message.channel_id === m[1] && BigInt(message.id) > after);
        return { status: 200, body: inChannel.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1)).slice(0, limit) };
      }],
      ['GET', /^\/channels\/(\d+)\/messages\/(\d+)$/, (_r, m) => {
        const message = this.messages.get(m[2]!);
        if (!message) return { status: 404, body: { message: 'Unknown Message', code: 10008 } };
        return { status: 200, body: this.asBotSees(message) };
      }],
      ['POST', /^\/channels\/(\d+)\/typing$/, () => ({ status: 204 })],
    ];
  }

  /** A slash command by `user` in the general channel unless another is named. */
  interactionPayload(fields: Omit<Parameters<typeof slashCommand>[0], 'applicationId' | 'channel'> & { channel?: FakeChannel }) {
    return slashCommand({ applicationId: this.application.id, channel: this.channel, ...fields });
  }

  /** A message context-menu command by `user` on `target` (in its channel), as Discord resolves it. */
  messageCommandPayload(fields: { name: string; user: FakeUser; target: FakeMessage; roles?: string[] }) {
    const channel = this.knownChannel(fields.target.channel_id);
    return messageCommand({ applicationId: this.application.id, channel, ...fields });
  }

  /** The user's answer to a modal the bot opened, in `channel` (the general one unless named). */
  modalSubmitPayload(fields: { user: FakeUser; customId: string; values: Record<string, string>; channel?: FakeChannel }) {
    return modalSubmit({ applicationId: this.application.id, channel: this.channel, ...fields });
  }

  private knownChannel(id: string): FakeChannel {
    return [this.channel, this.quiet, this.thread].find((c) => c.id === id) ?? { id, type: 1 };
  }

  /** The reply an interaction's callback created ("thinking…" while deferred: no content), as edited since. */
  original(token: string): FakeMessage | undefined {
    return this.originals.get(token);
  }

  /** Sends a slash command over the gateway, as Discord does when a user runs it. */
  interaction(payload: Record<string, unknown> & { token: string; channel_id?: unknown }): void {
    this.interactionChannel.set(payload.token, String(payload.channel_id));
    this.gateway.dispatch('INTERACTION_CREATE', payload);
  }
}

/** A command as Discord stores it: ids and defaults added, `required: false` left out as Discord does. */
function registered(command: Record<string, unknown>, applicationId: string, guildId?: string): Record<string, unknown> {
  const options = (command.options as Record<string, unknown>[] | undefined)?.map(({ required, ...rest }) => (required ? { ...rest, required } : rest));
  return {
    id: snowflake(),
    application_id: applicationId,
    version: snowflake(),
    default_member_permissions: null,
    type: 1,
    nsfw: false,
    ...command,
    ...(guildId ? { guild_id: guildId } : {}),
    ...(options ? { options } : {}),
  };
}

/** A 429 as Discord sends one for a route's bucket: the wait in the headers and in the body, in seconds. */
function rateLimit(res: ServerResponse, retryAfter: number): void {
  const body = JSON.stringify({ message: 'You are being rate limited.', retry_after: retryAfter, global: false });
  res.writeHead(429, {
    'content-type': 'application/json',
    'retry-after': String(Math.ceil(retryAfter)),
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(Date.now() / 1000 + retryAfter),
    'x-ratelimit-reset-after': String(retryAfter),
    'x-ratelimit-bucket': 'fake-bucket',
    'x-ratelimit-scope': 'user',
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
