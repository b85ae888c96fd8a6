import { randomUUID } from 'node:crypto';
import type { BotReply, BotRequest, PendingRequest, RequestJournal } from '../../src/bot/types.ts';

/** A request journaled longer ago than this is not run again after a restart: its user is told it was lost. */
export const ANSWER_AGAIN_WITHIN_MS = 30 * 60 * 1000;

type Place = PendingRequest['place'];

interface JournalLog {
  warn(fields: object, message?: string): void;
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
  ) {}

  /**
   * The request is ready to be answered (its image downloaded): journaled in full, so a restart runs it again.
   * Until then a restart tells its user it was lost: run without its image it would answer about another one.
   */
  ready(request: BotRequest): void {
    const { awaitingImage: _, ...place } = this.place;
    this.place = place;
    const entry = { id: this.id, platform: this.owner.platform, place, request, acceptedAt: Date.now() };
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
}

/** A platform's view of the journal; without a store (tests, `state.file: ':memory:'`) it keeps nothing. */
export class Journal {
  constructor(
    readonly journal: RequestJournal | undefined,
    readonly platform: string,
    readonly log: JournalLog,
  ) {}

  /** Journals a request not ready to be answered yet (its image not in yet); `ready` completes it. */
  hold(request: BotRequest, place: Place): Ticket {
    return this.accept(request, { ...place, awaitingImage: 1 });
  }

  accept(request: BotRequest, place: Place): Ticket {
    const id = randomUUID();
    const entry = { id, platform: this.platform, place, request, acceptedAt: Date.now() };
    this.write('add', () => this.journal?.add(entry));
    return new Ticket(this, id, place);
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
 * `deliver` says whether the reply reached the user; one that did not stays journaled for the next start, unless
 * it was already too old to answer (its place is gone: the channel deleted, the bot removed).
 */
export async function answerLeftovers(
  journal: Journal,
  run: (request: BotRequest) => Promise<BotReply>,
  deliver: (entry: PendingRequest, reply: BotReply) => Promise<boolean>,
  lost: BotReply,
  now = Date.now(),
): Promise<void> {
  const leftovers = journal.pending();
  await Promise.all(
    leftovers.map(async (entry) => {
      const tooOld = now - entry.acceptedAt > ANSWER_AGAIN_WITHIN_MS;
      const reply = tooOld || entry.place.awaitingImage ? lost : await run(entry.request);
      const reached = await deliver(entry, reply);
      if (!reached) {
        journal.log.warn({ request: entry.id, place: entry.place, dropped: tooOld }, 'journal: reply not delivered');
      }
      if (reached || tooOld) new Ticket(journal, entry.id, entry.place).done();
    }),
  );
}
