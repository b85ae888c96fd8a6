import type Database from 'better-sqlite3';
import { openStateDb } from './open-db.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS memory (
  namespace TEXT NOT NULL,
  key       TEXT NOT NULL,
  value     TEXT NOT NULL,
  expires   INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS memory_expires ON memory (expires);
`;

/** Expired entries are swept once every this many writes, so the table holds only what still lives. */
const SWEEP_EVERY = 200;

/**
 * An adapter's small memory (events already answered, each channel's latest image thread) in the state file,
 * beside the conversations, so a restart forgets neither. One namespace per adapter; entries expire.
 */
export class SqliteMemory {
  private readonly db: Database.Database;
  private readonly statements;
  private writes = 0;

  constructor(
    path: string,
    private readonly namespace: string,
    private readonly now: () => number = Date.now,
  ) {
    this.db = openStateDb(path);
    this.db.exec(SCHEMA);
    this.statements = {
      get: this.db.prepare<[string, string, number], { value: string }>(
        'SELECT value FROM memory WHERE namespace = ? AND key = ? AND expires > ?',
      ),
      set: this.db.prepare<[string, string, string, number]>(
        `INSERT INTO memory (namespace, key, value, expires) VALUES (?, ?, ?, ?)
         ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      sweep: this.db.prepare<[number]>('DELETE FROM memory WHERE expires <= ?'),
    };
  }

  get(key: string): string | undefined {
    return this.statements.get.get(this.namespace, key, this.now())?.value;
  }

  set(key: string, value: string, ttlMs: number): void {
    const now = this.now();
    this.statements.set.run(this.namespace, key, value, now + ttlMs);
    if (++this.writes % SWEEP_EVERY === 0) this.statements.sweep.run(now);
  }

  close(): void {
    this.db.close();
  }
}
