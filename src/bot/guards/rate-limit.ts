import { fail, ok, type Result } from '../result.ts';

export interface RateLimitConfig {
  /** Requests one user may make per window. */
  requests: number;
  windowSeconds: number;
}

/**
 * A sliding window per user: each accepted request is a timestamp; the user may ask again once the oldest
 * leaves the window, and is told exactly when that is.
 */
export class UserRateLimit {
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  take(userId: string): Result<void> {
    const now = this.now();
    const windowMs = this.config.windowSeconds * 1000;
    const inWindow = (this.recent.get(userId) ?? []).filter((t) => t > now - windowMs);
    const overLimit = inWindow.length >= this.config.requests;
    if (overLimit) {
      this.recent.set(userId, inWindow);
      const retry = Math.max(1, Math.ceil((inWindow[0]! + windowMs - now) / 1000));
      return fail('rate-limited', { limit: this.config.requests, window: this.config.windowSeconds, retry });
    }
    inWindow.push(now);
    this.recent.set(userId, inWindow);
    this.prune(now - windowMs);
    return ok(undefined);
  }

  /** Returns the user's latest `take`: the request was refused after it (a queue the engine keeps was full). */
  giveBack(userId: string): void {
    const times = this.recent.get(userId);
    times?.pop();
    if (times?.length === 0) this.recent.delete(userId);
  }

  /** Users who have not asked within the window need no entry: keeps the map as small as the active users. */
  private prune(cutoff: number): void {
    for (const [user, times] of this.recent) if ((times.at(-1) ?? 0) <= cutoff) this.recent.delete(user);
  }
}
