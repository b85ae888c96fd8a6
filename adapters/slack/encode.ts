import { shownText } from '../../src/bot/reply-text.ts';
import type { webApi } from '@slack/bolt';
import type { BotReply } from '../../src/bot/types.ts';
import type { CallBudget } from '../kit/budget.ts';
import { type Delivered, deliver, LiveReply } from '../kit/live-reply.ts';
import { splitMessage, utf8Bytes } from '../kit/split.ts';
import { escapeText } from './escape.ts';
import { MESSAGES } from './messages.ts';
import type { Log } from './types.ts';

/** Slack renders long texts poorly and truncates past ~4,000 bytes; stay well under per message. */
export const MESSAGE_MAX_BYTES = 3500;
/** Slack's limit for a file's alt text. */
const ALT_TEXT_MAX_CHARS = 1000;


export interface ThreadTarget {
  channel: string;
  threadTs: string;
}

/** How often one reply may be edited: the workspace's `chat.update` budget and a gap per message. */
export interface ReplyPacing {
  budget: CallBudget;
  /** The workspace (team id): Slack counts rate limits per method and workspace. */
  lane: string;
  minIntervalMs: number;
}

export interface ThreadReplyOptions {
  client: webApi.WebClient;
  /** The client for file uploads, with few quick retries so a failing upload is reported within seconds. */
  uploads?: webApi.WebClient;
  target: ThreadTarget;
  pacing: ReplyPacing;
  log: Log;
  /** A line kept above the answer (who asked what, for slash commands answered in a thread). */
  heading?: string;
  /** The message already showing this reply (posted by an earlier run), which the answer replaces. */
  ts?: string;
}

/**
 * One answer in a thread: a message that shows the queue place and then the answer as it grows (edits within
 * the workspace's budget, only the newest text sent), then the final text, split if long, and the annotated
 * image uploaded into the same thread. A final that cannot replace the message is posted anew, and if that
 * fails too the thread gets a short apology with the reason.
 */
export class ThreadReply {
  private ts: string | undefined;
  private readonly live: LiveReply;

  constructor(private readonly o: ThreadReplyOptions) {
    this.ts = o.ts;
    this.live = new LiveReply({
      budget: o.pacing.budget,
      lane: o.pacing.lane,
      minIntervalMs: o.pacing.minIntervalMs,
      show: (text) => this.show(text),
      onError: (error) => o.log.warn({ err: error, channel: o.target.channel }, 'slack streaming edit failed'),
    });
  }

  /** Posts the message that later edits replace. */
  async begin(text: string): Promise<void> {
    await this.show(text).catch((error: unknown) => {
      this.o.log.warn({ err: error, channel: this.o.target.channel }, 'slack placeholder not posted');
    });
  }

  get target(): ThreadTarget {
    return this.o.target;
  }

  /** The message that shows this reply, once posted. */
  get messageTs(): string | undefined {
    return this.ts;
  }

  /** Streams the answer so far. */
  onText(textSoFar: string): void {
    this.live.update(escapeText(textSoFar) + MESSAGES.streamingMark);
  }

  onQueued(position: number): void {
    this.live.update(MESSAGES.queued(position));
  }

  /** Posts the final reply; says how it reached the thread ('lost': not at all, not even as an apology). */
  async finish(reply: BotReply): Promise<Delivered> {
    await this.live.finish();
    const room = MESSAGE_MAX_BYTES - (this.o.heading ? utf8Bytes(this.o.heading) + 1 : 0);
    const [first = '…', ...more] = splitMessage(escapeText(shownText(reply)), { limit: room, measure: utf8Bytes });
    const { budget, lane } = this.o.pacing;
    const ts = this.ts;
    const onError = (error: unknown, step: string) =>
      this.o.log.warn({ err: error, channel: this.o.target.channel, step }, 'slack answer not delivered that way');
    const delivered = await deliver({
      ...(ts === undefined
        ? {}
        : {
            edit: async () => {
              await budget.take(lane, { urgent: true });
              await this.o.client.chat.update({ channel: this.o.target.channel, ts, text: this.withHeading(first) });
            },
          }),
      post: () => this.post(this.withHeading(first)),
      apologise: (reason) => this.post(this.withHeading(MESSAGES.notDelivered(reason))),
      onError,
    });
    if (delivered === 'apologised' || delivered === 'lost') return delivered;
    // Posted anew: the message that could not be edited would otherwise still say "Looking at the image…".
    if (delivered === 'posted' && ts !== undefined) {
      const gone = this.o.client.chat.delete({ channel: this.o.target.channel, ts });
      await gone.catch((error: unknown) => onError(error, 'delete'));
    }
    for (const text of more) {
      const apologise = (reason: string) => this.post(MESSAGES.notDelivered(reason));
      const rest = await deliver({ post: () => this.post(text), apologise, onError });
      if (rest !== 'posted') return delivered;
    }
    if (reply.image) await this.upload(reply);
    return delivered;
  }

  private withHeading(body: string): string {
    return this.o.heading ? `${this.o.heading}\n${body}` : body;
  }

  private async show(body: string): Promise<void> {
    const text = this.withHeading(body);
    if (this.ts === undefined) {
      this.ts = await this.post(text);
      return;
    }
    await this.o.client.chat.update({ channel: this.o.target.channel, ts: this.ts, text });
  }

  private async post(text: string): Promise<string | undefined> {
    const { channel, threadTs } = this.o.target;
    const res = await this.o.client.chat.postMessage({ channel, thread_ts: threadTs, text });
    return res.ts;
  }

  private async upload(reply: BotReply): Promise<void> {
    const image = reply.image;
    if (!image) return;
    try {
      await (this.o.uploads ?? this.o.client).files.uploadV2({
        channel_id: this.o.target.channel,
        thread_ts: this.o.target.threadTs,
        file: Buffer.from(image.bytes),
        filename: image.name,
        alt_text: reply.text.slice(0, ALT_TEXT_MAX_CHARS),
      });
    } catch (error) {
      this.o.log.warn({ err: error, channel: this.o.target.channel }, 'slack image upload failed');
      await this.post(MESSAGES.uploadFailed).catch(() => undefined);
    }
  }
}
