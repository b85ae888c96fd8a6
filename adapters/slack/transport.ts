import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, type Logger } from '@slack/bolt';
import { StartupError } from '../../src/config/startup-error.ts';
import type { Config } from './config.ts';
import type { Log } from './types.ts';

/** Path Slack posts events, slash commands and interactions to in HTTP mode. */
export const EVENTS_PATH = '/slack/events';

/** Bolt's logger interface on top of ours; Bolt's debug chatter stays out. */
function boltLogger(log: Log): Logger {
  let level = LogLevel.INFO;
  return {
    debug: () => undefined,
    info: (...msg) => log.info({ source: 'bolt' }, msg.map(String).join(' ')),
    warn: (...msg) => log.warn({ source: 'bolt' }, msg.map(String).join(' ')),
    error: (...msg) => log.error({ source: 'bolt' }, msg.map(String).join(' ')),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export interface Transport {
  app: App;
  /** Starts listening; resolves with the HTTP port in HTTP mode (useful when port 0 picked a free one). */
  start(): Promise<number | undefined>;
  stop(): Promise<void>;
  /** HTTP mode: the receiver is listening; Socket Mode: the WebSocket is open. */
  connected(): boolean;
}

/**
 * The Bolt app over Socket Mode when an app token is set (no public URL needed), otherwise over the HTTP
 * receiver, which checks each request's signature and timestamp before anything else sees it.
 */
export function createTransport(config: Config, log: Log): Transport {
  const logger = boltLogger(log);
  const clientOptions = {
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/` } : {}),
    ...(config.apiRetries === undefined ? {} : { retryConfig: { retries: config.apiRetries } }),
  };
  const socketMode = config.appToken !== undefined;
  const receiver = socketMode
    ? // Bolt hands the installer's client options to the Socket Mode client, so SLACK_API_URL reaches it too.
      new SocketModeReceiver({ appToken: config.appToken ?? '', logger, installerOptions: { clientOptions } })
    : new HTTPReceiver({ signingSecret: config.signingSecret ?? '', endpoints: EVENTS_PATH, logger });
  // Deferred, so a refused bot token is an error start() can report instead of a rejection nobody awaits.
  const app = new App({ token: config.botToken, receiver, logger, clientOptions, deferInitialization: true });
  let server: Server | undefined;
  return {
    app,
    async start() {
      try {
        await app.init();
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new StartupError(`slack: could not log in with SLACK_BOT_TOKEN: ${reason}`);
      }
      if (socketMode) {
        await app.start();
        return undefined;
      }
      server = (await app.start({ port: config.port, host: config.host })) as Server;
      return (server.address() as AddressInfo).port;
    },
    stop: () => app.stop().then(() => undefined),
    connected: () =>
      receiver instanceof SocketModeReceiver ? (receiver.client.websocket?.isActive() ?? false) : (server?.listening ?? false),
  };
}
