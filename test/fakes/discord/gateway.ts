import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { snowflake } from './payloads.ts';

/** Gateway opcodes the fake speaks. */
const Op = { Dispatch: 0, Heartbeat: 1, Identify: 2, Resume: 6, InvalidSession: 9, Hello: 10, HeartbeatAck: 11 } as const;
/** Close code Discord uses for a bad token. */
const AUTHENTICATION_FAILED = 4004;

export interface GatewayEvents {
  /** Called on IDENTIFY with a valid token; returns the dispatches that follow (READY first). */
  onIdentify(identify: { token: string; intents: number }): { t: string; d: unknown }[];
  /** Called after every payload the bot sends, so waits on the gateway wake up. */
  onReceive(): void;
  token: string;
  heartbeatIntervalMs: number;
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

  constructor(private readonly events: GatewayEvents) {
    this.wss.on('connection', (socket) => this.accept(socket));
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(request, socket, head, (ws) => this.wss.emit('connection', ws, request));
  }

  dispatch(t: string, d: unknown): void {
    for (const socket of this.sockets) this.send(socket, { op: Op.Dispatch, t, s: ++this.sequence, d });
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
        socket.close(AUTHENTICATION_FAILED, 'Authentication failed.');
        return;
      }
      for (const { t, d } of this.events.onIdentify({ token: payload.d.token, intents: payload.d.intents ?? 0 })) {
        this.send(socket, { op: Op.Dispatch, t, s: ++this.sequence, d });
      }
    } else if (payload.op === Op.Resume) {
      this.send(socket, { op: Op.InvalidSession, d: false });
    }
    this.events.onReceive();
  }
}

export const sessionId = (): string => `session-${snowflake()}`;
