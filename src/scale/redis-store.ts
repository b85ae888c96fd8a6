import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Conversation, ConversationStore } from '../bot/conversations.ts';
import { keys } from './redis.ts';

type Stored = Omit<Conversation, 'image'> & { image?: Omit<NonNullable<Conversation['image']>, 'bytes'> };

/**
 * Conversations in Redis, each key expiring after the idle time, the image's bytes stored once by content hash.
 * The framework reads synchronously, so the store keeps the live conversations in memory and writes through to
 * Redis in order. `start` reads them all, so a restarted gateway carries on every live conversation, and
 * follows the other gateways' changes, announced on a channel, so a thread may move between gateways.
 */
export class RedisConversationStore implements ConversationStore {
  private readonly byId = new Map<string, Conversation>();
  /** This store's name on the change channel, so it skips its own announcements. */
  private readonly origin = randomUUID();

  constructor(
    private readonly redis: Redis,
    /** A connection of its own: it only listens once subscribed. */
    private readonly subscriber: Redis,
    private readonly ttlSeconds: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, text: string) => {
      if (channel !== keys.conversationChanges) return;
      const change = JSON.parse(text) as { id: string; origin: string };
      if (change.origin !== this.origin) this.reload(change.id).catch(this.onError);
    });
    await this.subscriber.subscribe(keys.conversationChanges);
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', keys.conversationPattern, 'COUNT', 200);
      cursor = next;
      for (const key of found) await this.reload(key.slice(keys.conversation('').length));
    } while (cursor !== '0');
  }

  get(id: string): Conversation | undefined {
    return this.byId.get(id);
  }

  set(conversation: Conversation): void {
    this.byId.set(conversation.id, conversation);
    const { image, ...rest } = conversation;
    const stored: Stored = { ...rest, ...(image ? { image: { hash: image.hash, size: image.size } } : {}) };
    const write = this.redis.multi();
    if (image) {
      const key = keys.image(image.hash);
      write.set(key, Buffer.from(image.bytes), 'EX', this.ttlSeconds, 'NX').expire(key, this.ttlSeconds);
    }
    write.set(keys.conversation(conversation.id), JSON.stringify(stored), 'EX', this.ttlSeconds);
    this.announce(write, conversation.id).exec().catch(this.onError);
  }

  delete(id: string): void {
    this.byId.delete(id);
    this.announce(this.redis.multi().del(keys.conversation(id)), id).exec().catch(this.onError);
  }

  *activity(): Iterable<{ id: string; lastActive: number }> {
    for (const c of this.byId.values()) yield { id: c.id, lastActive: c.lastActive };
  }

  private announce<T extends { publish(channel: string, message: string): T }>(write: T, id: string): T {
    return write.publish(keys.conversationChanges, JSON.stringify({ id, origin: this.origin }));
  }

  /** The conversation as Redis has it now; gone when it (or its image) expired or was reset. */
  private async reload(id: string): Promise<void> {
    const text = await this.redis.get(keys.conversation(id));
    const stored = text ? (JSON.parse(text) as Stored) : undefined;
    const bytes = stored?.image ? await this.redis.getBuffer(keys.image(stored.image.hash)) : null;
    if (!stored || (stored.image && !bytes)) {
      this.byId.delete(id);
      return;
    }
    const image = stored.image && bytes ? { ...stored.image, bytes: new Uint8Array(bytes) } : undefined;
    this.byId.set(id, { ...stored, image });
  }
}
