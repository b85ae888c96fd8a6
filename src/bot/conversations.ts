import type { Entity } from '../grounding/types.ts';
import type { Turn } from '../inference/types.ts';
import type { CheckedImage } from './image.ts';
import type { ConversationKey } from './types.ts';

/** One channel's (or thread's) talk about one image. */
export interface Conversation {
  id: string;
  key: ConversationKey;
  image?: CheckedImage;
  turns: Turn[];
  /** The entities of the latest answer that drew boxes, in pixels, so `#2` can point at them. */
  entities: Entity[];
  lastActive: number;
  /** Who opened it: in a shared conversation only they (and admins) may reset it. */
  starter?: string;
}

/** Where conversations live. Small on purpose so a persistent (SQLite) store can replace the in-memory one. */
export interface ConversationStore {
  get(id: string): Conversation | undefined;
  set(conversation: Conversation): void;
  delete(id: string): void;
  /** Every live conversation's id and last activity, for expiry and eviction. */
  activity(): Iterable<{ id: string; lastActive: number }>;
}

export class MemoryConversationStore implements ConversationStore {
  private readonly byId = new Map<string, Conversation>();
  get(id: string): Conversation | undefined {
    return this.byId.get(id);
  }
  set(conversation: Conversation): void {
    this.byId.set(conversation.id, conversation);
  }
  delete(id: string): void {
    this.byId.delete(id);
  }
  *activity(): Iterable<{ id: string; lastActive: number }> {
    for (const c of this.byId.values()) yield { id: c.id, lastActive: c.lastActive };
  }
}

export interface ConversationLimits {
  /** A conversation unused this long is dropped. */
  idleMinutes: number;
  /** At most this many live conversations; past it, the one idle longest is dropped. */
  maxLive: number;
  /** Turns kept as history (the model's context is 2000 positions; older turns fall off first). */
  maxTurns: number;
}

export type ConversationScope = 'channel' | 'user' | 'thread';

export function conversationId(key: ConversationKey): string {
  const parts = [key.platform, key.workspace, key.channel, key.thread ?? ''];
  return [...parts, ...(key.user === undefined ? [] : [key.user])].map(encodeURIComponent).join('/');
}

/** The conversation a request belongs to under the configured scope. */
export function scopedKey(key: ConversationKey, scope: ConversationScope, user: string, chain?: string): ConversationKey {
  if (scope === 'user') return { ...key, user };
  if (scope === 'thread' && chain !== undefined) return { ...key, thread: chain };
  return key;
}

export type ResetOutcome = 'reset-done' | 'reset-empty' | 'reset-not-yours';

/**
 * Keeps conversations bounded and tells the engine when one ends (`forget`) so its cached image embeddings and
 * KV go with it.
 */
export class Conversations {
  constructor(
    private readonly store: ConversationStore,
    private readonly limits: ConversationLimits,
    private readonly forget: (id: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key's conversation, created empty (started by `user`) when there is none or it expired. */
  open(key: ConversationKey, user?: string): Conversation {
    this.expireIdle();
    const id = conversationId(key);
    const existing = this.store.get(id);
    if (existing) return existing;
    return { id, key, turns: [], entities: [], lastActive: this.now(), starter: user };
  }

  /** A different image starts the conversation over; the same image again keeps it. */
  setImage(conversation: Conversation, image: CheckedImage): Conversation {
    if (conversation.image?.hash === image.hash) return conversation;
    if (conversation.image) this.forget(conversation.id);
    return { ...conversation, image, turns: [], entities: [] };
  }

  /** The turns so far on this image; none when the conversation was reset or moved to another image meanwhile. */
  history(id: string, imageHash: string): Turn[] {
    const current = this.store.get(id);
    return current?.image?.hash === imageHash ? current.turns : [];
  }

  /**
   * Records a finished turn and the answer's entities, re-reading the stored conversation so that answers
   * finishing out of order all land. An answer about an image the conversation no longer holds is not recorded.
   * An answer without boxes keeps the numbers of the boxes drawn before it.
   */
  record(id: string, imageHash: string, turn: Turn, entities: Entity[]): void {
    const current = this.store.get(id);
    if (current?.image?.hash !== imageHash) return;
    const turns = [...current.turns, turn].slice(-this.limits.maxTurns);
    this.save({ ...current, turns, entities: entities.length > 0 ? entities : current.entities });
  }

  save(conversation: Conversation): void {
    this.store.set({ ...conversation, lastActive: this.now() });
    this.evictOverflow(conversation.id);
  }

  /**
   * Drops the key's conversation for `user`: a conversation somebody else started stays, unless `admin` (or it
   * belongs to one user, as under the `user` scope).
   */
  reset(key: ConversationKey, user: string, admin = false): ResetOutcome {
    const id = conversationId(key);
    const existing = this.store.get(id);
    if (!existing) return 'reset-empty';
    const owned = key.user !== undefined || existing.starter === undefined || existing.starter === user;
    if (!owned && !admin) return 'reset-not-yours';
    this.drop(id);
    return 'reset-done';
  }

  private drop(id: string): void {
    this.store.delete(id);
    this.forget(id);
  }

  private expireIdle(): void {
    const cutoff = this.now() - this.limits.idleMinutes * 60_000;
    for (const { id, lastActive } of [...this.store.activity()]) if (lastActive < cutoff) this.drop(id);
  }

  /** The conversation just used is never the one evicted, even when clocks tie. */
  private evictOverflow(justUsed: string): void {
    const live = [...this.store.activity()]
      .filter(({ id }) => id !== justUsed)
      .sort((a, b) => a.lastActive - b.lastActive);
    const overflow = live.length + 1 - this.limits.maxLive;
    for (const { id } of live.slice(0, Math.max(0, overflow))) this.drop(id);
  }
}
