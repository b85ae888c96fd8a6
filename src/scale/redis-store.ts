import type { Redis } from 'ioredis';
import type { Conversation, ConversationStore } from '../bot/conversations.ts';
import { keys } from './redis.ts';

type Stored = Omit<Conversation, 'image'> & { image?: Omit<NonNullable<Conversation['image']>, 'bytes'> };

/**
 * Conversations in Redis, each key expiring after the idle time, the image's bytes stored once by content hash.
 * The framework reads synchronously, so the store keeps what it loaded and wrote in memory and writes through
 * to Redis in order; `load` fills it at start, so a restarted gateway carries on every live conversation.
 */
export class RedisConversationStore implements ConversationStore {
  private readonly byId = new Map<string, Conversation>();

  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Reads every conversation still in Redis (bounded by the number of live conversations). */
  async load(): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', keys.conversationPattern, 'COUNT', 200);
      cursor = next;
      for (const key of found) {
        const text = await this.redis.get(key);
        if (!text) continue;
        const stored = JSON.parse(text) as Stored;
        const bytes = stored.image ? await this.redis.getBuffer(keys.image(stored.image.hash)) : null;
        if (stored.image && !bytes) continue; // the image expired: the conversation cannot go on
        const image = stored.image && bytes ? { ...stored.image, bytes: new Uint8Array(bytes) } : undefined;
        this.byId.set(stored.id, { ...stored, image });
      }
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
    write.set(keys.conversation(conversation.id), JSON.stringify(stored), 'EX', this.ttlSeconds);
    if (image) {
      const key = keys.image(image.hash);
      write.set(key, Buffer.from(image.bytes), 'EX', this.ttlSeconds, 'NX').expire(key, this.ttlSeconds);
    }
    write.exec().catch(this.onError);
  }

  delete(id: string): void {
    this.byId.delete(id);
    this.redis.del(keys.conversation(id)).catch(this.onError);
  }

  *activity(): Iterable<{ id: string; lastActive: number }> {
    for (const c of this.byId.values()) yield { id: c.id, lastActive: c.lastActive };
  }
}
