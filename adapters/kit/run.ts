import type { BotCore, BotReply, BotRequest, ReplyLimits, ReplyStream } from '../../src/bot/types.ts';

export type Runner = (request: BotRequest, stream: ReplyStream, limits: ReplyLimits) => Promise<BotReply>;

/**
 * The one place an adapter catches the unexpected: the exception is reported with the request that caused it,
 * and the chat gets one generic line (`text`, in the platform's words) instead of silence.
 */
export function guardedRunner(
  core: BotCore,
  text: string,
  onError: (error: unknown, request: BotRequest) => void,
): Runner {
  return async (request, stream, limits) => {
    try {
      return await core.handle(request, stream, limits);
    } catch (error) {
      onError(error, request);
      return { kind: 'error', text, error: 'unexpected' };
    }
  };
}
