import { randomUUID } from 'node:crypto';
import type { BotReply, BotRequest, PendingRequest, RequestJournal } from '../../src/bot/types.ts';

/** A request journaled longer ago than this is not run again after a restart: its user is told it was lost. */
export const ANSWER_AGAIN_WITHIN_MS = 30 * 60 * 1000;

/** An answer that reached no one is tried again this long after each failed try (30 s, 2 min, 10 min). */
export const REDELIVER_AFTER_MS: readonly number[] = [30_000, 120_000, 600_000];

type Place = PendingRequest['place'];

/** Delivers a reply where a journaled request's user waits; says whether it reached them (answer or apology). */
export type DeliverTo = (entry: PendingRequest, reply: BotReply) => Promise<boolean>;

interface JournalLog {
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/**
 * One accepted request's row in the journal. Writing it never fails the request: a store that cannot write (a
 * full disk) is logged, and the request is answered all the same, only not recoverable after a crash.
 */
export class Ticket {
  constructor(
    private readonly owner: Journal,
    readonly id: string,
    private place: Place,
    private request: BotRequest,
    private readonly acceptedAt: number,
  ) {}

  /**
   * The request is ready to be answered (its image downloaded): journaled in full, so a restart runs it again.
   * Until then a restart tells its user it was lost: run without its image it would answer about another one.
   */
  ready(request: BotRequest): void {
    const { awaitingImage: _, ...place } = this.place;
    this.place = place;
    this.request = request;
    const entry = { id: this.id, platform: this.owner.platform, place, request, acceptedAt: this.acceptedAt };
    this.owner.write('add', () => this.owner.journal?.add(entry));
  }

  /** Where the user waits changed (the placeholder was posted): fields given replace the old ones. */
  moved(fields: Place): void {
    this.place = { ...this.place, ...fields };
    this.owner.write('move', () => this.owner.journal?.move(this.id, this.place));
  }

  /** The final reply is out (or the user was told it could not be): the request leaves the journal. */
  done(): void {
    this.owner.write('remove', () => this.owner.journal?.remove(this.id));
  }

  /**
   * The final reply reached no one, not even as an apology: it stays journaled and is delivered again while the
   * process runs (see `Journal.redeliver`).
   */
  undelivered(reply: BotReply): void {
    const { id, place, request, acceptedAt } = this;
    this.owner.redeliver({ id, platform: this.owner.platform, place, request, acceptedAt }, reply);
  }
}

/**
 * A platform's view of the journal; without a store (tests, `state.file: ':memory:'`) it keeps nothing across a
 * restart, but still delivers undelivered answers again while the process runs.
 */
export class Journal {
  private deliverTo: DeliverTo = async () => false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly journal: RequestJournal | undefined,
    readonly platform: string,
    readonly log: JournalLog,
    /** When an undelivered answer is tried again: after each failed try, the next delay; then it is dropped. */
    private readonly redeliverAfterMs: readonly number[] = REDELIVER_AFTER_MS,
  ) {}

  /** How the platform delivers a reply to a journaled request's user: after a restart and for each retry. */
  deliverWith(deliverTo: DeliverTo): void {
    this.deliverTo = deliverTo;
  }

  /** Journals a request not ready to be answered yet (its image or its asker's roles not in); `ready` completes it. */
  hold(request: BotRequest, place: Place): Ticket {
    return this.accept(request, { ...place, awaitingImage: 1 });
  }

  accept(request: BotRequest, place: Place): Ticket {
    const id = randomUUID();
    const entry = { id, platform: this.platform, place, request, acceptedAt: Date.now() };
    this.write('add', () => this.journal?.add(entry));
    return new Ticket(this, id, place, request, entry.acceptedAt);
  }

  /** The requests a previous run accepted and never finished, oldest first. */
  pending(): PendingRequest[] {
    try {
      return this.journal?.pending(this.platform) ?? [];
    } catch (error) {
      this.log.warn({ err: error }, 'journal: pending requests could not be read');
      return [];
    }
  }

  /**
   * Delivers `reply` again after each of `redeliverAfterMs` until it reaches its user, with the code that answers
   * a previous run's leftovers; the request stays journaled meanwhile, so a restart still answers it. After the
   * last failed try it leaves the journal with one log line. Each try ends in the answer or, failing that, an
   * apology naming the reason: the first try the platform takes at all tells the user.
   */
  redeliver(entry: PendingRequest, reply: BotReply, tries = 0): void {
    if (this.stopped) return;
    const delay = this.redeliverAfterMs[tries];
    if (delay === undefined) {
      this.log.error({ request: entry.id, place: entry.place, tries }, 'journal: answer never delivered; dropped');
      this.write('remove', () => this.journal?.remove(entry.id));
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.tryAgain(entry, reply, tries + 1);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Delivers a reply to a journaled request's user now; a failure of the platform's code is a reply not delivered. */
  deliver(entry: PendingRequest, reply: BotReply): Promise<boolean> {
    return this.deliverTo(entry, reply).catch((error: unknown) => {
      this.log.warn({ err: error, request: entry.id }, 'journal: delivering failed');
      return false;
    });
  }

  /** Stops delivering again: what is still undelivered stays journaled for the next start. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private async tryAgain(entry: PendingRequest, reply: BotReply, tries: number): Promise<void> {
    if (this.stopped) return;
    if (await this.deliver(entry, reply)) {
      this.write('remove', () => this.journal?.remove(entry.id));
      return;
    }
    this.log.warn({ request: entry.id, tries }, 'journal: answer still not delivered');
    this.redeliver(entry, reply, tries);
  }

  /** @internal Runs one journal write, logging instead of throwing. */
  write(step: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.log.warn({ err: error, step }, 'journal: write failed');
    }
  }
}

/**
 * Answers what a previous run left unanswered: each journaled request is run again and its reply delivered
 * where the user waits, or, when older than `ANSWER_AGAIN_WITHIN_MS` or killed before its image was in, the user
 * is told that it was lost.
 * It is delivered by the journal's `deliverWith`; one that reached no one is delivered again as a live answer
 * would be (`Journal.redeliver`), unless it was already too old to answer (its place is gone: the channel
 * deleted, the bot removed).
 */
export async function answerLeftovers(
  journal: Journal,
  run: (request: BotRequest) => Promise<BotReply>,
  lost: BotReply,
  now = Date.now(),
): Promise<void> {
  const leftovers = journal.pending();
  await Promise.all(
    leftovers.map(async (entry) => {
      const tooOld = now - entry.acceptedAt > ANSWER_AGAIN_WITHIN_MS;
      const reply = tooOld || entry.place.awaitingImage ? lost : await run(entry.request);
      const ticket = new Ticket(journal, entry.id, entry.place, entry.request, entry.acceptedAt);
      if (await journal.deliver(entry, reply)) return ticket.done();
      journal.log.warn({ request: entry.id, place: entry.place, dropped: tooOld }, 'journal: reply not delivered');
      if (tooOld) ticket.done();
      else ticket.undelivered(reply);
    }),
  );
}
