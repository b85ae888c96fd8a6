import type Database from 'better-sqlite3';
import type { Conversation, ConversationStore } from '../bot/conversations.ts';
import { SqliteRequestJournal } from './journal.ts';
import { openStateDb } from './open-db.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS conversations (
  id          TEXT PRIMARY KEY,
  key         TEXT NOT NULL,
  image       BLOB,
  image_hash  TEXT,
  width       INTEGER,
  height      INTEGER,
  turns       TEXT NOT NULL,
  entities    TEXT NOT NULL,
  last_active INTEGER NOT NULL,
  starter     TEXT
);
CREATE INDEX IF NOT EXISTS conversations_last_active ON conversations (last_active);
CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
`;

/** How long a write probe's answer is reused, so a busy /healthz does not write on every call. */
const PROBE_REUSE_MS = 5_000;

interface Row {
  id: string;
  key: string;
  image: Buffer | null;
  image_hash: string | null;
  width: number | null;
  height: number | null;
  turns: string;
  entities: string;
  last_active: number;
  starter: string | null;
}

export interface StoreLimits {
  /** What the stored rows (images, turns, entities) may take; past it the ones idle longest are dropped. */
  maxBytes: number;
}

/**
 * Conversations in an embedded SQLite file, so that a restart keeps every thread's image and history (the
 * engine rebuilds the KV cache with one prefill). Image bytes are stored, never platform URLs: those expire.
 * The file is bounded by bytes: storing past `maxBytes` drops the conversations idle longest (never the one
 * just stored), and SQLite reuses the pages they free.
 */
export class SqliteConversationStore implements ConversationStore {
  private readonly db: Database.Database;
  private readonly statements;
  private probed?: { at: number; ok: boolean };
  /** Set when a conversation could not be written (a full disk), cleared by the next write that works. */
  private failedWrite = false;

  constructor(
    path: string,
    private readonly limits: StoreLimits = { maxBytes: Number.POSITIVE_INFINITY },
  ) {
    this.db = openStateDb(path);
    this.db.exec(SCHEMA);
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(conversations)').all();
    if (!columns.some((c) => c.name === 'starter')) this.db.exec('ALTER TABLE conversations ADD COLUMN starter TEXT');
    this.statements = {
      get: this.db.prepare<[string], Row>('SELECT * FROM conversations WHERE id = ?'),
      upsert: this.db.prepare(
        `INSERT INTO conversations (id, key, image, image_hash, width, height, turns, entities, last_active, starter)
         VALUES (@id, @key, @image, @image_hash, @width, @height, @turns, @entities, @last_active, @starter)
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, image = excluded.image, image_hash = excluded.image_hash,
           width = excluded.width, height = excluded.height, turns = excluded.turns, entities = excluded.entities,
           last_active = excluded.last_active, starter = excluded.starter`,
      ),
      remove: this.db.prepare<[string]>('DELETE FROM conversations WHERE id = ?'),
      probe: this.db.prepare<[number]>('INSERT OR REPLACE INTO probe (id, at) VALUES (1, ?)'),
      activity: this.db.prepare<[], { id: string; lastActive: number }>(
        'SELECT id, last_active AS lastActive FROM conversations',
      ),
      sizes: this.db.prepare<[string], { id: string; bytes: number }>(
        `SELECT id, COALESCE(LENGTH(image), 0) + LENGTH(turns) + LENGTH(entities) AS bytes FROM conversations
         WHERE id != ? ORDER BY last_active`,
      ),
      bytes: this.db.prepare<[string], { bytes: number }>(
        'SELECT COALESCE(LENGTH(image), 0) + LENGTH(turns) + LENGTH(entities) AS bytes FROM conversations WHERE id = ?',
      ),
    };
  }

  get(id: string): Conversation | undefined {
    const row = this.statements.get.get(id);
    if (!row) return undefined;
    const hasImage = row.image !== null && row.image_hash !== null;
    return {
      id: row.id,
      key: JSON.parse(row.key),
      image: hasImage
        ? { bytes: new Uint8Array(row.image!), hash: row.image_hash!, size: { width: row.width!, height: row.height! } }
        : undefined,
      turns: JSON.parse(row.turns),
      entities: JSON.parse(row.entities),
      lastActive: row.last_active,
      starter: row.starter ?? undefined,
    };
  }

  set(conversation: Conversation): void {
    const { image } = conversation;
    const row = {
      id: conversation.id,
      key: JSON.stringify(conversation.key),
      image: image ? Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength) : null,
      image_hash: image?.hash ?? null,
      width: image?.size.width ?? null,
      height: image?.size.height ?? null,
      turns: JSON.stringify(conversation.turns),
      entities: JSON.stringify(conversation.entities),
      last_active: conversation.lastActive,
      starter: conversation.starter ?? null,
    };
    try {
      this.statements.upsert.run(row);
      this.failedWrite = false;
    } catch (error) {
      this.failedWrite = true;
      throw error;
    }
    this.keepWithinBytes(conversation.id);
  }

  /** Drops the conversations idle longest until the stored rows fit `maxBytes` again. */
  private keepWithinBytes(justStored: string): void {
    if (!Number.isFinite(this.limits.maxBytes)) return;
    const others = this.statements.sizes.all(justStored);
    let total = (this.statements.bytes.get(justStored)?.bytes ?? 0) + others.reduce((sum, row) => sum + row.bytes, 0);
    for (const { id, bytes } of others) {
      if (total <= this.limits.maxBytes) break;
      this.statements.remove.run(id);
      total -= bytes;
    }
  }

  delete(id: string): void {
    this.statements.remove.run(id);
  }

  activity(): Iterable<{ id: string; lastActive: number }> {
    return this.statements.activity.all();
  }

  /**
   * Whether conversations can be saved, for /healthz: the last save worked and the file takes a small write now
   * (a full disk or a file turned read-only fails them).
   */
  writable(now = Date.now()): boolean {
    if (this.failedWrite) return false;
    if (this.probed && now - this.probed.at < PROBE_REUSE_MS) return this.probed.ok;
    let ok = true;
    try {
      this.statements.probe.run(now);
    } catch {
      ok = false;
    }
    this.probed = { at: now, ok };
    return ok;
  }

  /** Moves the write-ahead log into the file (SQLite does it on its own every 1000 pages). */
  checkpoint(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** The journal of accepted requests, in the same file (see journal.ts). */
  journal(): SqliteRequestJournal {
    return new SqliteRequestJournal(this.db);
  }

  close(): void {
    this.db.close();
  }
}
