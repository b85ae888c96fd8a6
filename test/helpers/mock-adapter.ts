import { decodeLine } from '../../adapters/console/decode.ts';
import type { BotCore, BotReply, ConversationKey, InputImage, ReplyLimits } from '../../src/bot/types.ts';

/** What one message brought back, as a chat transcript shows it. */
export interface Exchange {
  reply: BotReply;
  /** Every streamed text update, in order. */
  streamed: string[];
  /** Every queue position announced while waiting. */
  queued: number[];
}

export interface SendOptions {
  user?: string;
  channel?: string;
  thread?: string;
  /** The reply chain the message belongs to. */
  chain?: string;
  roles?: string[];
  image?: InputImage;
}

const DEFAULT_LIMITS: ReplyLimits = { imageBytes: 8 * 1024 * 1024 };

/**
 * A chat platform in a test: `send('/refer the red circle', { image })` goes through the same BotCore interface
 * the Discord, Slack and console adapters use, with the console's line syntax, and returns what came back.
 */
export class MockAdapter {
  constructor(
    private readonly core: BotCore,
    private readonly defaults: { platform?: string; workspace?: string; channel?: string; user?: string } = {},
    private readonly limits: ReplyLimits = DEFAULT_LIMITS,
  ) {}

  async send(line: string, options: SendOptions = {}): Promise<Exchange> {
    const decoded = decodeLine(line, this.core.commands());
    if (decoded.kind !== 'command') throw new Error(`the mock adapter sends commands, not "${line}"`);
    const key: ConversationKey = {
      platform: this.defaults.platform ?? 'mock',
      workspace: this.defaults.workspace ?? 'w1',
      channel: options.channel ?? this.defaults.channel ?? 'c1',
      thread: options.thread,
    };
    const streamed: string[] = [];
    const queued: number[] = [];
    const reply = await this.core.handle(
      {
        key,
        user: { id: options.user ?? this.defaults.user ?? 'u1', roles: options.roles },
        chain: options.chain,
        command: decoded.command,
        args: decoded.args,
        image: options.image,
      },
      { onText: (text) => streamed.push(text), onQueued: (position) => queued.push(position) },
      this.limits,
    );
    return { reply, streamed, queued };
  }
}
