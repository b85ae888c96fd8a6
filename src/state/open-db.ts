import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Opens (creating its folder) the SQLite state file at `path`, or an in-memory one for ':memory:', in WAL mode so
 * the conversation store, the journal and the adapters' memory can share one file on their own connections.
 */
export function openStateDb(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  return db;
}
