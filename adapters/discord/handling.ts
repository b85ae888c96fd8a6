import type { BotCore, BotReply, BotRequest, ReplyLimits, ReplyStream } from '../../src/bot/types.ts';
import { message } from '../../src/bot/messages.ts';
import type { Config } from './config.ts';
import type { DownloadLimits } from './download.ts';
import type { EditThrottle } from './throttle.ts';
import type { Log } from './types.ts';

/** What the interaction and message handlers share. */
export interface Handling {
  config: Config;
  log: Log;
  throttle: EditThrottle;
  downloadLimits: DownloadLimits;
  /** The bot's text option for free text sent by mention. */
  chatTextOption: string;
  /** Runs a request; an exception becomes the one generic line, logged with the command that caused it. */
  run(request: BotRequest, stream: ReplyStream, limits: ReplyLimits): Promise<BotReply>;
}

export function makeRunner(core: BotCore, log: Log): Handling['run'] {
  return async (request, stream, limits) => {
    try {
      return await core.handle(request, stream, limits);
    } catch (error) {
      log.error({ err: error, command: request.command, key: request.key }, 'discord: request failed');
      return { kind: 'error', text: message('unexpected'), error: 'unexpected' };
    }
  };
}
