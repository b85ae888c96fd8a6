import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { FakeSlack } from './server.ts';

/**
 * Slack's Socket Mode side on the fake's server: the bot connects to the URL apps.connections.open gave it, gets
 * `hello`, then envelopes that it must acknowledge with their envelope_id.
 */
export class FakeSocketMode {
  private readonly wss: WebSocketServer;
  private socket: WebSocket | undefined;
  readonly acks: { envelope_id: string; payload?: unknown }[] = [];

  constructor(fake: FakeSlack) {
    this.wss = new WebSocketServer({ server: fake.server, path: '/link' });
    this.wss.on('connection', (socket) => {
      this.socket = socket;
      socket.on('message', (data) => this.acks.push(JSON.parse(String(data)) as { envelope_id: string }));
      socket.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0APP' } }));
    });
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  /** Sends an Events API body (as the HTTP receiver would get it) in an envelope; returns the envelope id. */
  sendEvent(body: string, retryAttempt = 0): string {
    if (!this.socket) throw new Error('no Socket Mode connection');
    const envelopeId = randomUUID();
    this.socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: 'events_api',
        payload: JSON.parse(body) as unknown,
        accepts_response_payload: false,
        retry_attempt: retryAttempt,
        retry_reason: retryAttempt > 0 ? 'timeout' : '',
      }),
    );
    return envelopeId;
  }

  close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}
