interface Waiter {
  urgent: boolean;
  resolve: (granted: boolean) => void;
}

interface Lane {
  /** When the lane's next call may go out. */
  next: number;
  waiting: Waiter[];
  timer?: NodeJS.Timeout;
}

export interface TakeOptions {
  /** Final answers go ahead of progress edits waiting in the same lane. */
  urgent?: boolean;
  /** Leaving the line (a reply that finished) gives the slot to the next waiter. */
  signal?: AbortSignal;
}

/**
 * A platform's budget for one kind of call, shared by every reply in a lane (a Slack workspace, a Discord
 * channel): at most one call per interval. Waiters are served in order, urgent ones first.
 */
export class CallBudget {
  private readonly lanes = new Map<string, Lane>();

  constructor(readonly intervalMs: number) {}

  /** From a published rate, e.g. Slack's ~50 `chat.update` a minute per workspace. */
  static perMinute(calls: number): CallBudget {
    return new CallBudget(Math.ceil(60_000 / calls));
  }

  /** Resolves true when the lane's next slot is this caller's, or false when it left the line first. */
  take(lane: string, options: TakeOptions = {}): Promise<boolean> {
    if (options.signal?.aborted) return Promise.resolve(false);
    const state = this.lanes.get(lane) ?? { next: 0, waiting: [] };
    this.lanes.set(lane, state);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { urgent: options.urgent ?? false, resolve };
      const firstNormal = state.waiting.findIndex((w) => !w.urgent);
      if (waiter.urgent && firstNormal >= 0) state.waiting.splice(firstNormal, 0, waiter);
      else state.waiting.push(waiter);
      options.signal?.addEventListener(
        'abort',
        () => {
          const at = state.waiting.indexOf(waiter);
          if (at < 0) return;
          state.waiting.splice(at, 1);
          resolve(false);
        },
        { once: true },
      );
      this.serve(lane, state);
    });
  }

  /** Waiters in a lane now (for tests and metrics). */
  waiting(lane: string): number {
    return this.lanes.get(lane)?.waiting.length ?? 0;
  }

  private serve(lane: string, state: Lane): void {
    if (state.timer) return;
    const now = Date.now();
    if (state.waiting.length === 0) {
      if (state.next <= now) this.lanes.delete(lane);
      return;
    }
    if (state.next <= now) {
      state.next = now + this.intervalMs;
      state.waiting.shift()!.resolve(true);
    }
    if (state.waiting.length === 0) return;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      this.serve(lane, state);
    }, state.next - now);
    state.timer.unref();
  }
}
