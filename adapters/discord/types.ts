/** The logging calls the adapter makes; pino's logger fits. Tokens and secrets are never passed in. */
export interface Log {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** A running adapter. */
export interface DiscordAdapter {
  /** The bot's invite link (scopes `bot` and `applications.commands`, the permissions it needs). */
  inviteUrl: string;
  applicationId: string;
  /** Stops taking events, waits up to `graceMs` (default 5 s) for answers in progress, then disconnects. */
  stop(graceMs?: number): Promise<void>;
  /** Whether the gateway connection is up and ready (for the health check). */
  connected(): boolean;
}

/** An attachment as Discord described it, before anything is downloaded. */
export interface AttachmentRef {
  url: string;
  name: string;
  size: number;
  contentType?: string | null;
}
