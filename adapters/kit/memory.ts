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

/**
 * A stored memory (the state file's) whose writes may fail, a full disk: what it cannot take is kept in this
 * process meanwhile, so the run still remembers it (a restart then forgets it), and `onError` is told. A read
 * that fails counts as not remembered.
 */
export class StoredMemory implements Memory {
  private readonly unwritten = new MapMemory();

  constructor(
    private readonly stored: Memory,
    private readonly onError: (error: Error) => void,
  ) {}

  get(key: string): string | undefined {
    const kept = this.unwritten.get(key);
    if (kept !== undefined) return kept;
    try {
      return this.stored.get(key);
    } catch (error) {
      this.onError(error as Error);
      return undefined;
    }
  }

  set(key: string, value: string, ttlMs: number): void {
    try {
      this.stored.set(key, value, ttlMs);
    } catch (error) {
      this.unwritten.set(key, value, ttlMs);
      this.onError(error as Error);
    }
  }
}
