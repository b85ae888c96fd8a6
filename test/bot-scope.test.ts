import { describe, expect, test } from 'vitest';
import { createBot, type BotOptions } from '../src/bot/core.ts';
import { Conversations } from '../src/bot/conversations.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

const image = { bytes: drawScene(11).png };
const NEEDS_IMAGE = /needs an image/;

function setup(settings: BotOptions['settings'] = {}) {
  const engine = new ScriptedEngine((r) => `answer ${r.history.length + 1}`);
  const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, settings }));
  return { engine, chat };
}

describe('GIVEN conversations scoped per channel (the default)', () => {
  test('WHEN a second person asks in the channel THEN they continue the same conversation', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image, user: 'ann' });
    const { reply } = await chat.send('/vqa what colour?', { user: 'bob' });
    expect(reply.kind).toBe('answer');
    expect(engine.requests[1]!.history).toHaveLength(1);
  });

  test('WHEN someone else tries /reset THEN the conversation stays; its starter and admins may clear it', async () => {
    const { chat } = setup({ access: { admins: ['boss'] } });
    await chat.send('/caption', { image, user: 'ann' });
    expect((await chat.send('/reset', { user: 'bob' })).reply.text).toBe(
      'Only the person who started this conversation (or an admin) can clear it.',
    );
    expect((await chat.send('/vqa still there?', { user: 'bob' })).reply.kind).toBe('answer');
    expect((await chat.send('/reset', { user: 'ann' })).reply.text).toMatch(/^Conversation cleared/);
    await chat.send('/caption', { image, user: 'ann' });
    expect((await chat.send('/reset', { user: 'boss' })).reply.text).toMatch(/^Conversation cleared/);
    expect((await chat.send('/vqa gone?', { user: 'bob' })).reply.text).toMatch(NEEDS_IMAGE);
  });
});

describe('GIVEN conversations scoped per user', () => {
  test('WHEN two people share a channel THEN each has their own image, history and /reset', async () => {
    const { chat, engine } = setup({ conversations: { scope: 'user' } });
    await chat.send('/caption', { image, user: 'ann' });
    expect((await chat.send('/vqa and mine?', { user: 'bob' })).reply.text).toMatch(NEEDS_IMAGE);
    await chat.send('/caption', { image, user: 'bob' });
    expect(engine.requests[1]!.history).toEqual([]);
    expect(engine.requests[1]!.conversation).not.toBe(engine.requests[0]!.conversation);
    expect((await chat.send('/reset', { user: 'bob' })).reply.text).toMatch(/^Conversation cleared/);
    expect((await chat.send('/vqa still mine?', { user: 'ann' })).reply.kind).toBe('answer');
  });
});

describe('GIVEN conversations scoped per reply chain', () => {
  test('WHEN two chains run in one channel THEN each keeps its own image; a message outside any chain uses the channel', async () => {
    const { chat, engine } = setup({ conversations: { scope: 'thread' } });
    await chat.send('/caption', { image, chain: 'm1' });
    expect((await chat.send('/vqa here too?', { chain: 'm2' })).reply.text).toMatch(NEEDS_IMAGE);
    expect((await chat.send('/vqa and here?')).reply.text).toMatch(NEEDS_IMAGE);
    await chat.send('/vqa again?', { chain: 'm1' });
    expect(engine.requests.map((r) => r.history.length)).toEqual([0, 1]);
  });
});

describe('GIVEN role lists', () => {
  const access = { allowRoles: ['R-artists'], blockRoles: ['R-muted'], allowUsers: ['ann'] };

  test.each([
    ['ann', [], 'info'],
    ['bob', ['R-artists'], 'info'],
    ['cid', ['R-guests'], 'user-error'],
    ['dee', [], 'user-error'],
    ['bob', ['R-artists', 'R-muted'], 'user-error'],
    ['ann', ['R-muted'], 'user-error'],
  ])('WHEN %s with roles %j asks THEN the reply is %s', async (user, roles, kind) => {
    const { chat } = setup({ access });
    expect((await chat.send('/help', { user, roles })).reply.kind).toBe(kind);
  });
});

describe('GIVEN a conversation kept in the state file', () => {
  test('WHEN the bot restarts THEN its starter still decides who may reset it', () => {
    const store = new SqliteConversationStore(':memory:');
    const limits = { idleMinutes: 60, maxLive: 10, maxTurns: 8 };
    const key = { platform: 'p', workspace: 'w', channel: 'c' };
    new Conversations(store, limits, () => {}).save(new Conversations(store, limits, () => {}).open(key, 'ann'));
    const afterRestart = new Conversations(store, limits, () => {});
    expect(afterRestart.reset(key, 'bob')).toBe('reset-not-yours');
    expect(afterRestart.reset(key, 'ann')).toBe('reset-done');
    expect(afterRestart.reset(key, 'ann')).toBe('reset-empty');
    store.close();
  });
});
