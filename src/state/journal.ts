import type Database from 'better-sqlite3';
import type { BotRequest, PendingRequest, RequestJournal } from '../bot/types.ts';
import { openStateDb } from './open-db.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pending (
  id          TEXT PRIMARY KEY,
  platform    TEXT NOT NULL,
  place       TEXT NOT NULL,
  request     TEXT NOT NULL,
  image       BLOB,
  accepted_at INTEGER NOT NULL
);
`;

interface Row {
  id: string;
  platform: string;
  place: string;
  request: string;
  image: Buffer | null;
  accepted_at: number;
}

/**
 * The journal of accepted requests in the conversation store's SQLite file: a row from acceptance until the
 * final reply is out, so a process killed mid-answer can answer (or apologise for) each one when it starts again.
 * The request's image is kept beside it as bytes, as the conversations keep theirs.
 */
export class SqliteRequestJournal implements RequestJournal {
  private readonly statements;

  constructor(db: Database.Database) {
    db.exec(SCHEMA);
    this.statements = {
      add: db.prepare(
        `INSERT OR REPLACE INTO pending (id, platform, place, request, image, accepted_at)
         VALUES (@id, @platform, @place, @request, @image, @accepted_at)`,
      ),
      move: db.prepare<[string, string]>('UPDATE pending SET place = ? WHERE id = ?'),
      remove: db.prepare<[string]>('DELETE FROM pending WHERE id = ?'),
      pending: db.prepare<[string], Row>('SELECT * FROM pending WHERE platform = ? ORDER BY accepted_at, rowid'),
    };
  }

  add(entry: PendingRequest): void {
    const { image, ...request } = entry.request;
    this.statements.add.run({
      id: entry.id,
      platform: entry.platform,
      place: JSON.stringify(entry.place),
      request: JSON.stringify({ ...request, ...(image ? { image: { ...image, bytes: undefined } } : {}) }),
      image: image ? Buffer.from(image.bytes.buffer, image.bytes.byteOffset, image.bytes.byteLength) : null,
      accepted_at: entry.acceptedAt,
    });
  }

  move(id: string, place: PendingRequest['place']): void {
    this.statements.move.run(JSON.stringify(place), id);
  }

  remove(id: string): void {
    this.statements.remove.run(id);
  }

  pending(platform: string): PendingRequest[] {
    return this.statements.pending.all(platform).map((row) => {
      const request = JSON.parse(row.request) as BotRequest;
      if (request.image) request.image = { ...request.image, bytes: new Uint8Array(row.image ?? Buffer.alloc(0)) };
      return { id: row.id, platform: row.platform, place: JSON.parse(row.place), request, acceptedAt: row.accepted_at };
    });
  }
}

/**
 * The journal alone in the state file at `path`, on its own connection: for a process that keeps its conversations
 * elsewhere (a gateway, whose conversations live in Redis) but must still answer what a killed run left.
 */
export function openRequestJournal(path: string): { journal: SqliteRequestJournal; close(): void } {
  const db = openStateDb(path);
  return { journal: new SqliteRequestJournal(db), close: () => db.close() };
}
