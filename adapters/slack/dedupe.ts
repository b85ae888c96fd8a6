import { MapMemory, type Memory } from '../kit/memory.ts';

/** Slack retries after ~1 min and ~5 min; keeping keys for 15 covers all three deliveries. */
export const DEDUPE_TTL_MS = 15 * 60 * 1000;

/** Where taken events are remembered: this process (SeenEvents), or a store several gateways share. */
export interface EventClaims {
  /** True the first time any of `keys` is seen within the TTL; then all of them count as seen. */
  claim(...keys: string[]): boolean | Promise<boolean>;
}

/**
 * Remembers which events were already taken, so a retried delivery (same `event_id`, or the same message
 * under another id) is never answered twice; kept in the state file, a restart does not forget them.
 */
export class SeenEvents implements EventClaims {
  constructor(
    private readonly memory: Memory = new MapMemory(),
    private readonly ttlMs = DEDUPE_TTL_MS,
  ) {}

  /** True the first time any of `keys` is seen within the TTL; then all of them count as seen. */
  claim(...keys: string[]): boolean {
    if (keys.some((k) => this.memory.get(`seen:${k}`) !== undefined)) return false;
    for (const k of keys) this.memory.set(`seen:${k}`, '1', this.ttlMs);
    return true;
  }
}
