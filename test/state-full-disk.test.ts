import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Conversation } from '../src/bot/conversations.ts';
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
