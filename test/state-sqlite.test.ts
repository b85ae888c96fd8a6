import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Conversations, conversationId } from '../src/bot/conversations.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function stateFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-state-'));
  dirs.push(dir);
  return join(dir, 'state', 'bot.sqlite');
}

const key = { platform: 'slack', workspace: 'T1', channel: 'C1', thread: '1700000000.000100' };
const limits = { idleMinutes: 60, maxLive: 10, maxTurns: 8 };
const image = new Uint8Array([137, 80, 78, 71, 1, 2, 3, 4]);
const checked = (width: number, height: number) => ({ bytes: image, hash: 'a1', size: { width, height } });

describe('SQLite conversation store', () => {
  it('GIVEN a conversation with an image and a turn WHEN the process restarts THEN the thread still has both', () => {
    const path = stateFile();
    const before = new SqliteConversationStore(path);
    const forgotten: string[] = [];
    const first = new Conversations(before, limits, (id) => forgotten.push(id));
    const opened = first.setImage(first.open(key), checked(320, 240));
    first.save(opened);
    first.record(opened.id, opened.image!.hash, { task: 'refer', question: 'the red circle', answer: '{<1><2><30><40>}' }, [
      { phrase: '', boxes: [[3, 5, 96, 96]] },
    ]);
    before.close();

    const after = new SqliteConversationStore(path);
    const second = new Conversations(after, limits, (id) => forgotten.push(id));
    const restored = second.open(key);
    expect(restored.id).toBe(conversationId(key));
    expect(restored.key).toEqual(key);
    expect(Array.from(restored.image!.bytes)).toEqual(Array.from(image));
    expect(restored.image!.size).toEqual({ width: 320, height: 240 });
    expect(second.history(restored.id, restored.image!.hash)).toEqual([
      { task: 'refer', question: 'the red circle', answer: '{<1><2><30><40>}' },
    ]);
    expect(restored.entities).toEqual([{ phrase: '', boxes: [[3, 5, 96, 96]] }]);
    expect(forgotten).toEqual([]);
    after.close();
  });

  it('GIVEN a conversation idle past the limit WHEN the bot opens any conversation THEN the stale one is gone from disk', () => {
    let clock = 1_000_000;
    const store = new SqliteConversationStore(stateFile());
    const conversations = new Conversations(store, limits, () => {}, () => clock);
    conversations.save(conversations.setImage(conversations.open(key), checked(10, 10)));
    clock += 61 * 60_000;
    conversations.open({ ...key, thread: 'other' });
    expect(store.get(conversationId(key))).toBeUndefined();
    store.close();
  });

  it('GIVEN a byte limit WHEN more images arrive than fit THEN the idlest go and the file stops growing', () => {
    let clock = 1_000_000;
    const path = stateFile();
    const megabyte = 1024 * 1024;
    const store = new SqliteConversationStore(path, { maxBytes: 3.5 * megabyte });
    const conversations = new Conversations(store, { ...limits, maxLive: 100 }, () => {}, () => clock);
    const sizes: number[] = [];
    for (let n = 0; n < 12; n++) {
      clock += 1000;
      const bytes = new Uint8Array(megabyte).fill(n + 1);
      const thread = { ...key, thread: `t${n}` };
      const image = { bytes, hash: `h${n}`, size: { width: 1, height: 1 } };
      conversations.save(conversations.setImage(conversations.open(thread), image));
      store.checkpoint();
      sizes.push(statSync(path).size);
    }
    const kept = [...store.activity()].map(({ id }) => store.get(id)!.key.thread).sort();
    expect(kept).toEqual(['t10', 't11', 't9']);
    expect(Math.max(...sizes.slice(6))).toBe(sizes[5]);
    expect(sizes[5]!).toBeLessThan(5 * megabyte);
    store.close();
  });

  it('GIVEN reset THEN the row is deleted', () => {
    const store = new SqliteConversationStore(':memory:');
    const conversations = new Conversations(store, limits, () => {});
    conversations.save(conversations.open(key));
    expect(conversations.reset(key, 'u1')).toBe('reset-done');
    expect([...store.activity()]).toEqual([]);
    store.close();
  });
});
