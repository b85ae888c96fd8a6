import type { MessageContext, MessageId } from './messages.ts';

/** A refusal or a user's mistake: a value, never an exception, turned into a short reply by one table. */
export interface UserError {
  identifier: MessageId;
  context?: MessageContext;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: UserError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (identifier: MessageId, context?: MessageContext): { ok: false; error: UserError } => ({
  ok: false,
  error: { identifier, context },
});
