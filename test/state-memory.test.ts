import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteMemory } from '../src/state/sqlite-memory.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';

describe('GIVEN an adapter memory in the state file', () => {
  it('WHEN reopened THEN live entries are there, expired ones are not, and namespaces stay apart', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'minigpt-memory-')), 'state', 'bot.sqlite');
    let now = 1_000_000;
    const first = new SqliteMemory(file, 'slack', () => now);
    first.set('seen:event:Ev1', '1', 60_000);
    first.set('image-thread:T1/C1', '1800000000.000100', 3_600_000);
    first.set('image-thread:T1/C1', '1800000000.000200', 3_600_000);
    first.close();

    // The conversation store shares the file; neither disturbs the other.
    new SqliteConversationStore(file).close();
    now += 120_000;
    const again = new SqliteMemory(file, 'slack', () => now);
    expect(again.get('seen:event:Ev1')).toBeUndefined();
    expect(again.get('image-thread:T1/C1')).toBe('1800000000.000200');
    const other = new SqliteMemory(file, 'discord', () => now);
    expect(other.get('image-thread:T1/C1')).toBeUndefined();
    other.close();
    again.close();
  });
});
