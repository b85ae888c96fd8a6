import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../src/bot/conversations.ts';
import { StoredMemory } from '../adapters/kit/memory.ts';
import { SqliteMemory } from '../src/state/sqlite-memory.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';

/** A real full disk: a 256 KiB tmpfs (mounting needs root, which CI's machine gives). */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'minigpt-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
});
afterAll(() => {
  execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

function conversation(n: number): Conversation {
  const bytes = new Uint8Array(40_000).fill(n);
  return {
    id: `c${n}`,
    key: { platform: 'p', workspace: 'w', channel: `c${n}` },
    image: { bytes, hash: `h${n}`, size: { width: 200, height: 200 } },
    turns: [],
    entities: [],
    lastActive: n,
  };
}

describe('GIVEN the state file on a disk that fills up', () => {
  it('WHEN a save fails THEN the store reports it cannot write, and can again once space is freed', () => {
    const filler = join(dir, 'other-program.log');
    writeFileSync(filler, new Uint8Array(96 * 1024));
    const store = new SqliteConversationStore(join(dir, 'bot.sqlite'));
    try {
      expect(store.writable(0)).toBe(true);
      let failure: unknown;
      for (let n = 0; n < 20 && failure === undefined; n++) {
        try {
          store.set(conversation(n));
        } catch (error) {
          failure = error;
        }
      }
      expect(String(failure)).toMatch(/disk is full/);
      expect(store.writable(10_000)).toBe(false);
      unlinkSync(filler);
      store.set({ ...conversation(99), image: undefined });
      expect(store.writable(20_000)).toBe(true);
    } finally {
      store.close();
    }
  });
});

describe('GIVEN the adapters\' memory in a state file on a disk that fills up', () => {
  it('WHEN the file cannot take an entry THEN it is remembered all the same, and the failure is told', () => {
    for (const name of readdirSync(dir)) unlinkSync(join(dir, name)); // the disk to this test alone
    const stored = new SqliteMemory(join(dir, 'memory.sqlite'), 'slack');
    const failures: string[] = [];
    const memory = new StoredMemory(stored, (error) => failures.push(error.message));
    const filler = join(dir, 'other-program.log');
    try {
      writeFileSync(filler, new Uint8Array(128 * 1024));
      const value = 'v'.repeat(500);
      let n = 0;
      while (failures.length === 0 && n < 1000) memory.set(`seen:event:Ev${n++}`, value, 60_000);
      expect(failures[0]).toMatch(/disk is full/);
      // Every event taken is still known as taken, the one the disk refused included.
      for (let k = 0; k < n; k++) expect(memory.get(`seen:event:Ev${k}`)).toBe(value);
      expect(memory.get('seen:event:never-seen')).toBeUndefined();
    } finally {
      stored.close();
      unlinkSync(filler);
    }
  });
});
