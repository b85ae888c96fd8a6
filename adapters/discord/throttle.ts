import { setTimeout as sleep } from 'node:timers/promises';

/** Entries kept before channels whose slot has passed are dropped. */
const MAX_TRACKED_CHANNELS = 1000;

/**
 * Hands out edit slots per channel, at most one per interval, shared by every reply streaming into that
 * channel: Discord does not document a limit for edits, so the bot keeps well under any plausible one.
 */
export class EditThrottle {
  private readonly nextSlot = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  /** Reserves the channel's next slot; resolves when it comes. */
  async wait(channel: string): Promise<void> {
    const now = Date.now();
    const at = Math.max(now, this.nextSlot.get(channel) ?? 0);
    this.nextSlot.set(channel, at + this.intervalMs);
    if (this.nextSlot.size > MAX_TRACKED_CHANNELS) this.prune(now);
    if (at > now) await sleep(at - now);
  }

  private prune(now: number): void {
    for (const [channel, at] of this.nextSlot) if (at < now) this.nextSlot.delete(channel);
  }
}

/**
 * Text that grows while the model answers, shown by editing one message. Updates in between slots are
 * coalesced: only the newest text is sent, so a slow channel sees fewer, larger steps.
 */
export class LiveText {
  private latest = '';
  private shown = '';
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly channel: string,
    private readonly throttle: EditThrottle,
    private readonly edit: (text: string) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  update(text: string): void {
    if (this.stopped) return;
    this.latest = text;
    this.running ??= this.pump().finally(() => {
      this.running = null;
    });
  }

  /** Stops streaming and waits for an edit in flight, so the final reply is never overwritten by a late one. */
  async finish(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async pump(): Promise<void> {
    while (!this.stopped && this.latest !== this.shown) {
      await this.throttle.wait(this.channel);
      if (this.stopped) return;
      const text = this.latest;
      try {
        await this.edit(text);
        this.shown = text;
      } catch (error) {
        this.onError(error);
        return;
      }
    }
  }
}
