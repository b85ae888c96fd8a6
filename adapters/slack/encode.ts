import type { webApi } from '@slack/bolt';
import type { BotReply } from '../../src/bot/types.ts';
import { MESSAGES } from './messages.ts';
import type { Log } from './types.ts';

/** Slack renders long texts poorly and truncates past ~4,000 bytes; stay well under per message. */
export const MESSAGE_MAX_BYTES = 3500;
/** Slack's limit for a file's alt text. */
const ALT_TEXT_MAX_CHARS = 1000;
const FENCE = '```';

/** Slack reads `&`, `<` and `>` as markup; answers and the framework's replies must show as written. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix of `text` that fits in `maxBytes`, cut at a line break or space when there is one. */
function fittingPrefix(text: string, maxBytes: number): string {
  let end = 0;
  let bytes = 0;
  for (const ch of text) {
    bytes += byteLength(ch);
    if (bytes > maxBytes) break;
    end += ch.length;
  }
  if (end >= text.length) return text;
  const head = text.slice(0, end);
  const cut = Math.max(head.lastIndexOf('\n'), head.lastIndexOf(' '));
  return cut > end / 2 ? head.slice(0, cut + 1) : head;
}

/** Splits text into messages of at most `maxBytes`; a code block cut in two is closed and reopened. */
export function splitMessage(text: string, maxBytes = MESSAGE_MAX_BYTES): string[] {
  const parts: string[] = [];
  let rest = text;
  let reopen = '';
  while (byteLength(reopen + rest) > maxBytes) {
    const room = maxBytes - byteLength(reopen) - byteLength(`\n${FENCE}`);
    const head = fittingPrefix(rest, room);
    rest = rest.slice(head.length);
    const chunk = reopen + head;
    const insideFence = chunk.split(FENCE).length % 2 === 0;
    parts.push(insideFence ? `${chunk.trimEnd()}\n${FENCE}` : chunk.trimEnd());
    reopen = insideFence ? `${FENCE}\n` : '';
  }
  parts.push(reopen + rest);
  return parts.filter((p) => p.trim().length > 0);
}

export interface ThreadTarget {
  channel: string;
  threadTs: string;
}

/**
 * One answer in a thread: a message that is edited as the answer grows (at most one `chat.update` per interval),
 * then the final text, split if long, and the annotated image uploaded into the same thread.
 */
export class ThreadReply {
  private ts: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private lastEditAt = 0;
  private pending: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly client: webApi.WebClient,
    private readonly target: ThreadTarget,
    private readonly updateIntervalMs: number,
    private readonly log: Log,
    /** A line kept above the answer (who asked what, for slash commands answered in a thread). */
    private readonly heading = '',
  ) {}

  /** Posts the message that later edits replace. */
  begin(text: string): Promise<void> {
    return this.enqueue(() => this.show(text));
  }

  /** Streams the answer so far; edits are throttled and only the newest text is sent. */
  onText(textSoFar: string): void {
    this.schedule(escapeText(textSoFar) + MESSAGES.streamingMark);
  }

  onQueued(position: number): void {
    this.schedule(MESSAGES.queued(position));
  }

  async finish(reply: BotReply): Promise<void> {
    this.finished = true;
    clearTimeout(this.timer);
    this.pending = undefined;
    const body = escapeText(reply.text);
    const [first = '…', ...more] = splitMessage(body, MESSAGE_MAX_BYTES - Buffer.byteLength(this.heading));
    await this.enqueue(() => this.show(first));
    for (const text of more) await this.post(text);
    if (reply.image) await this.upload(reply);
  }

  private schedule(text: string): void {
    if (this.finished) return;
    this.pending = text;
    if (this.timer) return;
    const wait = Math.max(0, this.lastEditAt + this.updateIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const latest = this.pending;
      this.pending = undefined;
      if (latest !== undefined && !this.finished) void this.enqueue(() => this.show(latest));
    }, wait);
  }

  /** API calls for one reply run one after another, so edits never arrive out of order. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step).catch((error: unknown) => {
      this.log.warn({ err: error, channel: this.target.channel }, 'slack reply step failed');
    });
    this.queue = next;
    return next;
  }

  private async show(body: string): Promise<void> {
    const text = this.heading ? `${this.heading}\n${body}` : body;
    this.lastEditAt = Date.now();
    if (this.ts === undefined) {
      this.ts = await this.post(text);
      return;
    }
    await this.client.chat.update({ channel: this.target.channel, ts: this.ts, text });
  }

  private async post(text: string): Promise<string | undefined> {
    const res = await this.client.chat.postMessage({
      channel: this.target.channel,
      thread_ts: this.target.threadTs,
      text,
    });
    return res.ts;
  }

  private async upload(reply: BotReply): Promise<void> {
    const image = reply.image;
    if (!image) return;
    try {
      await this.client.files.uploadV2({
        channel_id: this.target.channel,
        thread_ts: this.target.threadTs,
        file: Buffer.from(image.bytes),
        filename: image.name,
        alt_text: reply.text.slice(0, ALT_TEXT_MAX_CHARS),
      });
    } catch (error) {
      this.log.warn({ err: error, channel: this.target.channel }, 'slack image upload failed');
      await this.post(MESSAGES.uploadFailed).catch(() => undefined);
    }
  }
}
