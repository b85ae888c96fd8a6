/**
 * What an adapter remembers for a while, key by key, each entry with its own lifetime: Slack's retried events and
 * each channel's latest image. `MapMemory` forgets on restart; the state file's memory (src/state) does not.
 */
export interface Memory {
  /** The value while it lives, else undefined. */
  get(key: string): string | undefined;
  set(key: string, value: string, ttlMs: number): void;
}

/** A bound on memory even under a flood of distinct keys: the oldest go first. */
const MAX_KEYS = 20_000;

/** Memory in a Map, in insertion order; a key set again moves to the end. */
export class MapMemory implements Memory {
  private readonly entries = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly maxKeys = MAX_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    return entry && entry.until > this.now() ? entry.value : undefined;
  }

  set(key: string, value: string, ttlMs: number): void {
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { value, until: now + ttlMs });
    for (const [oldest, entry] of this.entries) {
      if (entry.until > now && this.entries.size <= this.maxKeys) break;
      this.entries.delete(oldest);
    }
  }
}
