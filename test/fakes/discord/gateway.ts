import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { snowflake } from './payloads.ts';

/** Gateway opcodes the fake speaks. */
const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;
/**
 * Close codes Discord ends a session with for good: a bad token, a shard outside the count, too few shards for the
 * bot's guilds, and privileged intents the app may not use; and 4000, "unknown error", after which a bot may resume.
 */
export const CloseCode = {
  UnknownError: 4000,
  AuthenticationFailed: 4004,
  InvalidShard: 4010,
  ShardingRequired: 4011,
  DisallowedIntents: 4014,
} as const;
/** The privileged intents (GuildMembers, GuildPresences, MessageContent), switched on in the developer portal. */
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);
/** Dispatches a session keeps for a resume; Discord keeps a while's worth, a test never needs more. */
const REPLAYABLE = 1000;

/** A shard as IDENTIFY and READY carry it: `[shard id, shard count]`. */
export type Shard = [number, number];

/** The shard Discord sends a guild's events to: `(guild_id >> 22) % count`. */
export const shardOf = (guildId: string, count: number): number => Number((BigInt(guildId) >> 22n) % BigInt(count));

type Dispatch = { t: string; d: unknown };

export interface GatewayEvents {
  /** Called on IDENTIFY with a valid token and shard; returns the dispatches that follow (READY first). */
  onIdentify(identify: { token: string; intents: number; shard: Shard; sessionId: string }): Dispatch[];
  /** Called after every payload the bot sends, so waits on the gateway wake up. */
  onReceive(): void;
  token: string;
  heartbeatIntervalMs: number;
  /** Whether the portal allows the privileged intents; without it an IDENTIFY asking for one is closed with 4014. */
  privilegedIntents: boolean;
  /** The fewest shards the bot's guilds need: an IDENTIFY with a smaller count is closed with 4011. */
  requiredShards: number;
}

/** One identified session: its shard, its own sequence, and what it was sent, kept for a resume. */
interface Session {
  id: string;
  shard: Shard;
  sequence: number;
  sent: (Dispatch & { s: number })[];
  socket?: WebSocket;
  /** Closed for good, forgotten, or replaced by a new IDENTIFY of its shard: it cannot be resumed. */
  ended: boolean;
}

/**
 * A gateway on the fake's HTTP server, sharded as Discord's is: HELLO on connect; IDENTIFY (with `shard: [id,
 * count]`, `[0, 1]` when left out) answered with READY and the GUILD_CREATE of the guilds on that shard; a guild's
 * events sent only to shard `(guild_id >> 22) % count`, DMs to shard 0; heartbeats acknowledged. A dropped session
 * keeps the events it missed, and a RESUME with its id and last sequence replays them, then RESUMED. Everything
 * received is kept for assertions.
 */
export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly sessions = new Map<string, Session>();
  readonly received: { op: number; d: unknown }[] = [];
  heartbeats = 0;
  /** The intents of the last IDENTIFY. */
  intents = 0;

  constructor(private readonly events: GatewayEvents) {
    this.wss.on('connection', (socket) => this.accept(socket));
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  /** Sends an event to the sessions of the shard it belongs to: its guild's (`d.guild_id`), or shard 0 for a DM. */
  dispatch(t: string, d: unknown): void {
    const guildId = (d as { guild_id?: string }).guild_id;
    for (const session of this.sessions.values()) {
      const [id, count] = session.shard;
      if (!session.ended && id === (guildId === undefined ? 0 : shardOf(guildId, count))) this.push(session, t, d);
    }
  }

  /** The shards of every IDENTIFY the gateway accepted, in order. */
  identified(): Shard[] {
    return [...this.sessions.values()].map((session) => session.shard);
  }

  /** Ends every session with a close code, as Discord does when it revokes a token or refuses intents. */
  closeWith(code: number, reason: string): void {
    this.forgetSessions();
    for (const socket of this.sockets) socket.close(code, reason);
  }

  /**
   * Closes every connection the way a gateway restart or a network fault does: with `code` (4000, unknown error,
   * which Discord sends before it moves a session), or cut without a close frame when none is given. The sessions
   * stay resumable, and keep what is dispatched meanwhile.
   */
  drop(code?: number): void {
    for (const socket of this.sockets) {
      if (code === undefined) socket.terminate();
      else socket.close(code, 'Unknown error.');
    }
  }

  /** Forgets every session, as Discord does a while after its connection dropped: a RESUME is then refused. */
  forgetSessions(): void {
    for (const session of this.sessions.values()) session.ended = true;
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
  }

  private send(socket: WebSocket, payload: object): void {
    socket.send(JSON.stringify(payload));
  }

  private push(session: Session, t: string, d: unknown): void {
    const event = { s: ++session.sequence, t, d };
    session.sent.push(event);
    if (session.sent.length > REPLAYABLE) session.sent.shift();
    const { socket } = session;
    if (socket && socket.readyState === socket.OPEN) this.send(socket, { op: Op.Dispatch, ...event });
  }

  private accept(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const session of this.sessions.values()) if (session.socket === socket) session.socket = undefined;
    });
    socket.on('message', (data) => this.receive(socket, data.toString()));
    this.send(socket, { op: Op.Hello, d: { heartbeat_interval: this.events.heartbeatIntervalMs } });
  }

  private receive(socket: WebSocket, text: string): void {
    const payload = JSON.parse(text) as { op: number; d: Record<string, unknown> | null };
    this.received.push(payload);
    if (payload.op === Op.Heartbeat) {
      this.heartbeats++;
      this.send(socket, { op: Op.HeartbeatAck });
    } else if (payload.op === Op.Identify) {
      this.identify(socket, payload.d as { token?: string; intents?: number; shard?: unknown });
    } else if (payload.op === Op.Resume) {
      this.resume(socket, payload.d as { token?: string; session_id?: string; seq?: number });
    }
    this.events.onReceive();
  }

  private identify(socket: WebSocket, d: { token?: string; intents?: number; shard?: unknown }): void {
    if (d.token !== this.events.token) {
      socket.close(CloseCode.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const shard = d.shard ?? [0, 1];
    if (!validShard(shard)) {
      socket.close(CloseCode.InvalidShard, 'Invalid shard.');
      return;
    }
    if (shard[1] < this.events.requiredShards) {
      socket.close(CloseCode.ShardingRequired, 'Sharding required.');
      return;
    }
    const intents = d.intents ?? 0;
    if (!this.events.privilegedIntents && (intents & PRIVILEGED_INTENTS) !== 0) {
      socket.close(CloseCode.DisallowedIntents, 'Disallowed intent(s).');
      return;
    }
    this.intents = intents;
    for (const old of this.sessions.values()) if (old.shard[0] === shard[0]) old.ended = true;
    const session: Session = { id: sessionId(), shard, sequence: 0, sent: [], socket, ended: false };
    this.sessions.set(session.id, session);
    for (const { t, d: data } of this.events.onIdentify({ token: d.token, intents, shard, sessionId: session.id })) {
      this.push(session, t, data);
    }
  }

  /** Discord's resume: the session's events after `seq` again, then RESUMED; an unknown or ended one is refused. */
  private resume(socket: WebSocket, d: { token?: string; session_id?: string; seq?: number }): void {
    if (d.token !== this.events.token) {
      socket.close(CloseCode.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const session = d.session_id === undefined ? undefined : this.sessions.get(d.session_id);
    if (!session || session.ended) {
      this.send(socket, { op: Op.InvalidSession, d: false });
      return;
    }
    session.socket = socket;
    const missed = session.sent.filter((event) => event.s > (d.seq ?? 0));
    for (const event of missed) this.send(socket, { op: Op.Dispatch, ...event });
    this.push(session, 'RESUMED', {});
  }
}

/** Discord's check of IDENTIFY's `shard`: two integers, a count of at least 1, an id below it. */
function validShard(shard: unknown): shard is Shard {
  if (!Array.isArray(shard) || shard.length !== 2 || !shard.every(Number.isInteger)) return false;
  const [id, count] = shard as Shard;
  return count >= 1 && id >= 0 && id < count;
}

const sessionId = (): string => `session-${snowflake()}`;
