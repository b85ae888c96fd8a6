/** Slack retries after ~1 min and ~5 min; keeping keys for 15 covers all three deliveries. */
export const DEDUPE_TTL_MS = 15 * 60 * 1000;
/** A bound on memory even under a flood of distinct events. */
const MAX_KEYS = 20_000;

/** Where taken events are remembered: this process (SeenEvents), or a store several gateways share. */
export interface EventClaims {
  /** True the first time any of `keys` is seen within the TTL; then all of them count as seen. */
  claim(...keys: string[]): boolean | Promise<boolean>;
}

/**
 * Remembers which events were already taken, so a retried delivery (same `event_id`, or the same message
 * under another id) is never answered twice.
 */
export class SeenEvents implements EventClaims {
  private readonly expiry = new Map<string, number>();

  constructor(
    private readonly ttlMs = DEDUPE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** True the first time any of `keys` is seen within the TTL; then all of them count as seen. */
  claim(...keys: string[]): boolean {
    const now = this.now();
    this.prune(now);
    const seen = keys.some((k) => (this.expiry.get(k) ?? 0) > now);
    if (seen) return false;
    for (const k of keys) this.expiry.set(k, now + this.ttlMs);
    return true;
  }

  private prune(now: number): void {
    // Insertion order is expiry order (one TTL for all), so the stale keys are at the front.
    for (const [key, expires] of this.expiry) {
      if (expires > now && this.expiry.size <= MAX_KEYS) break;
      this.expiry.delete(key);
    }
  }
}
