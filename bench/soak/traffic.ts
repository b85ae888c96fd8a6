import { setTimeout as sleep } from 'node:timers/promises';
import { MESSAGES as SLACK_MESSAGES } from '../../adapters/slack/messages.ts';
import { type FakeChannel, type FakeDiscord, user } from '../../test/fakes/discord/index.ts';
import { messageEnvelope, sendSigned } from '../../test/fakes/slack/requests.ts';
import type { FakeSlack } from '../../test/fakes/slack/server.ts';
import type { HostileImage } from './corpus.ts';
import { classify } from './outcome.ts';

export const SECRET = 'soak-signing-secret';

interface Sent {
  platform: 'discord' | 'slack';
  /** Discord: the asking message's id; Slack: the thread (the asking message's ts). */
  id: string;
  channel: string;
  sentAt: number;
  /** The replies as last seen, and when they last changed. */
  seen: string;
  changedAt: number;
}

export interface Tally {
  sent: number;
  answered: number;
  told: number;
  lost: number;
  duplicates: number;
  /** Milliseconds from each request to its final reply, for the requests that got one. */
  latencies: number[];
  /** What a lost request's user sees (its platform and the bot's replies), to find the cause. */
  lostSeen: string[];
}

/**
 * Requests to both fakes (a mention with an upload from the corpus on each), and what became of each, watched
 * as users would: the bot's replies to the Discord message, the bot's messages in the Slack thread.
 */
export class Traffic {
  private readonly sent: Sent[] = [];
  private readonly channels: FakeChannel[];
  private n = 0;
  private readonly watcher: NodeJS.Timeout;

  constructor(
    private readonly discord: FakeDiscord,
    private readonly slack: FakeSlack,
    private readonly images: readonly HostileImage[],
    private readonly prompts: readonly string[],
  ) {
    this.channels = [discord.channel, discord.quiet, discord.thread];
    this.watcher = setInterval(() => this.watch(), 100);
  }

  /**
   * One request on each platform in channel `index`, the corpus's next upload and prompt unless `ask` names them;
   * the Slack one only counts when the bot took the event.
   */
  async send(index: number, eventsUrl: string, ask?: { image: HostileImage; prompt: string }): Promise<void> {
    const image = ask?.image ?? this.images[this.n % this.images.length]!;
    const prompt = ask?.prompt ?? this.prompts[this.n % this.prompts.length]!;
    this.n += 1;
    const n = this.n;
    const channel = this.channels[index % this.channels.length]!;
    const asked = this.discord.userMessage({
      channel,
      author: user(`soak${n}`),
      content: `<@${this.discord.botUser.id}> ${prompt}`,
      mentions: [this.discord.botUser],
      attachments: [this.discord.attachment(image.bytes, image.name, image.contentType)],
    });
    this.track('discord', asked.id, channel.id);
    const slackChannel = `C0SOAK${index}`;
    const ts = `${1_900_000_000 + n}.000100`;
    // Every fourth Slack upload downloads slowly, as from a busy file server.
    const stallMs = n % 4 === 0 ? 3000 : 0;
    const file = this.slack.addFile(image.bytes, { name: image.name, mimetype: image.contentType, stallMs });
    const text = `<@${this.slack.botUserId}> ${prompt}`;
    const team = this.slack.team;
    const body = messageEnvelope({ team, channel: slackChannel, user: `U0SOAK${n}`, text, ts, files: [file] });
    const response = await sendSigned(eventsUrl, SECRET, body, 'application/json');
    if (response.status === 200) this.track('slack', ts, slackChannel);
  }

  /** Waits until every request has its final reply and `idle()` says nothing is pending, or `timeoutMs` passes. */
  async settle(idle: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = (): boolean => !idle() || this.sent.some((s) => this.outcome(s).outcome === 'lost');
    while (Date.now() < deadline && pending()) await sleep(500);
    await sleep(2000); // edits still in flight land
    this.watch();
  }

  tally(): Tally {
    const tally: Tally = {
      sent: this.sent.length,
      answered: 0,
      told: 0,
      lost: 0,
      duplicates: 0,
      latencies: [],
      lostSeen: [],
    };
    for (const s of this.sent) {
      const { outcome, duplicates } = this.outcome(s);
      tally[outcome] += 1;
      tally.duplicates += duplicates;
      if (outcome !== 'lost') tally.latencies.push(s.changedAt - s.sentAt);
      else tally.lostSeen.push(`${s.platform} ${s.id}: ${s.seen.slice(0, 200)}`);
    }
    return tally;
  }

  close(): void {
    clearInterval(this.watcher);
  }

  private track(platform: Sent['platform'], id: string, channel: string): void {
    const now = Date.now();
    this.sent.push({ platform, id, channel, sentAt: now, seen: '', changedAt: now });
  }

  private replies(s: Sent): string[] {
    return s.platform === 'discord'
      ? [...this.discord.messages.values()]
          .filter((m) => m.message_reference?.message_id === s.id)
          .map((m) => m.content)
      : this.slack.thread(s.channel, s.id).map((m) => m.text);
  }

  private outcome(s: Sent) {
    return classify(this.replies(s), s.platform === 'slack' ? SLACK_MESSAGES.streamingMark : undefined);
  }

  private watch(): void {
    for (const s of this.sent) {
      const seen = JSON.stringify(this.replies(s));
      if (seen !== s.seen) Object.assign(s, { seen, changedAt: Date.now() });
    }
  }
}
