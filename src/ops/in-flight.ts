/** How long stopping waits for answers in progress before disconnecting anyway, unless told otherwise. */
export const STOP_GRACE_MS = 5_000;

/**
 * The requests an adapter is handling, so stopping can let answers in progress be posted before the platform
 * connection closes. `track` never rejects: a failed handler is reported through `onError`.
 */
export class InFlight {
  private readonly work = new Set<Promise<unknown>>();

  constructor(private readonly onError: (error: unknown, what: object) => void) {}

  track(work: Promise<unknown>, what: object = {}): Promise<void> {
    const guarded = work.then(
      () => undefined,
      (error: unknown) => this.onError(error, what),
    );
    this.work.add(guarded);
    void guarded.finally(() => this.work.delete(guarded));
    return guarded;
  }

  get size(): number {
    return this.work.size;
  }

  /** Resolves when every tracked request has finished, or after `graceMs`, whichever comes first. */
  settle(graceMs = STOP_GRACE_MS): Promise<void> {
    return settleWithin(this.work, graceMs);
  }
}

/** Waits for every piece of `work` to settle, or `graceMs`, whichever comes first: a stop's grace period. */
export async function settleWithin(work: Iterable<Promise<unknown>>, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([Promise.allSettled([...work]), graceOver]);
  clearTimeout(timer);
}
