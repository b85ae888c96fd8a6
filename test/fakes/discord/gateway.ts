import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { snowflake } from './payloads.ts';

/** Gateway opcodes the fake speaks. */
const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;
/** Close codes Discord ends a session with for good: a bad token, and privileged intents the app may not use. */
export const CloseCode = { AuthenticationFailed: 4004, DisallowedIntents: 4014 } as const;
/** The privileged intents (GuildMembers, GuildPresences, MessageContent), switched on in the developer portal. */
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);

export interface GatewayEvents {
  /** Called on IDENTIFY with a valid token; returns the dispatches that follow (READY first). */
  onIdentify(identify: { token: string; intents: number }): { t: string; d: unknown }[];
  /** Called after every payload the bot sends, so waits on the gateway wake up. */
  onReceive(): void;
  token: string;
  heartbeatIntervalMs: number;
  /** Whether the portal allows the privileged intents; without it an IDENTIFY asking for one is closed with 4014. */
  privilegedIntents: boolean;
}

/**
 * A gateway on the fake's HTTP server: HELLO on connect, IDENTIFY answered with READY and GUILD_CREATE,
 * heartbeats acknowledged, and dispatches pushed by the test. Everything received is kept for assertions.
 */
export class FakeGateway {
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private sequence = 0;
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

  dispatch(t: string, d: unknown): void {
    for (const socket of this.sockets) this.send(socket, { op: Op.Dispatch, t, s: ++this.sequence, d });
  }

  /** Ends every session with a close code, as Discord does when it revokes a token or refuses intents. */
  closeWith(code: number, reason: string): void {
    for (const socket of this.sockets) socket.close(code, reason);
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
  }

  private send(socket: WebSocket, payload: object): void {
    socket.send(JSON.stringify(payload));
  }

  private accept(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('message', (data) => this.receive(socket, data.toString()));
    this.send(socket, { op: Op.Hello, d: { heartbeat_interval: this.events.heartbeatIntervalMs } });
  }

  private receive(socket: WebSocket, text: string): void {
    const payload = JSON.parse(text) as { op: number; d: { token?: string; intents?: number } };
    this.received.push(payload);
    if (payload.op === Op.Heartbeat) {
      this.heartbeats++;
      this.send(socket, { op: Op.HeartbeatAck });
    } else if (payload.op === Op.Identify) {
      if (payload.d.token !== this.events.token) {
        socket.close(CloseCode.AuthenticationFailed, 'Authentication failed.');
        return;
      }
      const intents = payload.d.intents ?? 0;
      if (!this.events.privilegedIntents && (intents & PRIVILEGED_INTENTS) !== 0) {
        socket.close(CloseCode.DisallowedIntents, 'Disallowed intent(s).');
        return;
      }
      this.intents = intents;
      for (const { t, d } of this.events.onIdentify({ token: payload.d.token, intents })) {
        this.send(socket, { op: Op.Dispatch, t, s: ++this.sequence, d });
      }
    } else if (payload.op === Op.Resume) {
      this.send(socket, { op: Op.InvalidSession, d: false });
    }
    this.events.onReceive();
  }
}

export const sessionId = (): string => `session-${snowflake()}`;
