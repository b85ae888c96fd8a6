import { setTimeout as sleep } from 'node:timers/promises';
import type { CallBudget } from './budget.ts';

export interface LiveReplyOptions {
  budget: CallBudget;
  /** The budget's lane: the workspace or channel whose limit the edits count against. */
  lane: string;
  /** Least time between two edits of this one message, on top of the lane's budget. */
  minIntervalMs?: number;
  /** Shows text in the reply message (creating it the first time, when the platform needs that). */
  show(text: string): Promise<unknown>;
  onError(error: unknown): void;
}

/**
 * Text that changes while a request waits and runs (queue places, then the answer growing), shown by editing
 * one message. Updates between slots are coalesced: only the newest text is sent, so 50 waiting requests cost
 * the lane's budget, not one edit per queue move each.
 */
export class LiveReply {
  private latest: string | undefined;
  private shown: string | undefined;
  private lastShownAt = 0;
  private running: Promise<void> | null = null;
  private readonly stop = new AbortController();

  constructor(private readonly options: LiveReplyOptions) {}

  update(text: string): void {
    if (this.stop.signal.aborted) return;
    this.latest = text;
    this.running ??= this.pump().finally(() => {
      this.running = null;
    });
  }

  /** Stops streaming, leaves the budget's line and waits for an edit in flight: no late edit overwrites the final. */
  async finish(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async pump(): Promise<void> {
    const { budget, lane, minIntervalMs = 0, show, onError } = this.options;
    const signal = this.stop.signal;
    while (!signal.aborted && this.latest !== this.shown) {
      const wait = this.lastShownAt + minIntervalMs - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (!(await budget.take(lane, { signal })) || signal.aborted) return;
      const text = this.latest!;
      try {
        await show(text);
        this.shown = text;
        this.lastShownAt = Date.now();
      } catch (error) {
        onError(error);
        return;
      }
    }
  }
}

/** How a final answer reaches the user, in the order tried. */
export interface Delivery {
  /** Replaces the live message with the answer (absent when there is none to replace). */
  edit?: () => Promise<unknown>;
  /** Sends the answer as a new message. */
  post: () => Promise<unknown>;
  /** Tells the user in a short message that the answer could not be posted, and why. */
  apologise: (reason: string) => Promise<unknown>;
  onError(error: unknown, step: 'edit' | 'post' | 'apologise'): void;
}

export type Delivered = 'edited' | 'posted' | 'apologised' | 'lost';

/**
 * A platform error as a few words a user can read: the platform's error code (`message_not_found`), the HTTP
 * status (`HTTP 503`), the network's code (`ECONNRESET`), or else the first line of its message.
 */
export function reasonOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as {
      data?: { error?: unknown };
      status?: unknown;
      statusCode?: unknown;
      original?: { code?: unknown };
      cause?: { code?: unknown };
      code?: unknown;
      message?: unknown;
    };
    if (typeof e.data?.error === 'string') return e.data.error;
    const status = typeof e.status === 'number' ? e.status : e.statusCode;
    if (typeof status === 'number') return `HTTP ${status}`;
    const network = e.original?.code ?? e.cause?.code;
    if (typeof network === 'string') return network;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.message === 'string') return e.message.split('\n')[0]!.slice(0, 120);
  }
  return String(error).slice(0, 120);
}

/**
 * Delivers a final answer: by editing the live message, else as a new message, else with a short apology that
 * names the reason, so no user is left looking at "thinking…" forever.
 */
export async function deliver(d: Delivery): Promise<Delivered> {
  let reason = '';
  if (d.edit) {
    try {
      await d.edit();
      return 'edited';
    } catch (error) {
      d.onError(error, 'edit');
      reason = reasonOf(error);
    }
  }
  try {
    await d.post();
    return 'posted';
  } catch (error) {
    d.onError(error, 'post');
    reason = reasonOf(error);
  }
  try {
    await d.apologise(reason);
    return 'apologised';
  } catch (error) {
    d.onError(error, 'apologise');
    return 'lost';
  }
}
