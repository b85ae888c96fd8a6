import { describe, expect, test } from 'vitest';
import { createBot } from '../src/bot/core.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

const image = { bytes: drawScene(11).png };
const MINUTE = 60_000;

function setup(conversations: { idleMinutes?: number; maxLive?: number; maxTurns?: number }) {
  let clock = 0;
  const engine = new ScriptedEngine((r) => `answer ${r.history.length + 1}`);
  const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, settings: { conversations }, now: () => clock }));
  return { engine, chat, advance: (ms: number) => (clock += ms) };
}

describe('GIVEN conversations that expire after 30 idle minutes', () => {
  test('WHEN a channel is quiet for longer THEN its image is gone and the engine forgot it', async () => {
    const { chat, engine, advance } = setup({ idleMinutes: 30 });
    await chat.send('/caption', { image });
    advance(29 * MINUTE);
    expect((await chat.send('/vqa still there?')).reply.kind).toBe('answer');
    advance(31 * MINUTE);
    expect((await chat.send('/vqa still there?')).reply.text).toMatch(/needs an image/);
    expect(engine.forgotten).toEqual([engine.requests[0]!.conversation]);
  });
});

describe('GIVEN at most two live conversations', () => {
  test('WHEN a third channel starts THEN the one idle longest is dropped, not the busy ones', async () => {
    const { chat, engine, advance } = setup({ maxLive: 2 });
    await chat.send('/caption', { image, channel: 'old' });
    advance(MINUTE);
    await chat.send('/caption', { image, channel: 'busy' });
    advance(MINUTE);
    await chat.send('/caption', { image, channel: 'new' });
    expect(engine.forgotten).toEqual([engine.requests[0]!.conversation]);
    expect((await chat.send('/vqa hi', { channel: 'busy' })).reply.kind).toBe('answer');
    expect((await chat.send('/vqa hi', { channel: 'old' })).reply.text).toMatch(/needs an image/);
  });
});

describe('GIVEN threads', () => {
  test('WHEN a thread of a channel talks THEN it is a conversation of its own', async () => {
    const { chat, engine } = setup({});
    await chat.send('/caption', { image, channel: 'c' });
    expect((await chat.send('/vqa hi', { channel: 'c', thread: 't1' })).reply.text).toMatch(/needs an image/);
    await chat.send('/caption', { image, channel: 'c', thread: 't1' });
    expect(engine.requests[1]!.conversation).not.toBe(engine.requests[0]!.conversation);
  });
});

describe('GIVEN a history of at most 2 turns', () => {
  test('WHEN the talk goes on THEN only the latest turns are sent to the model', async () => {
    const { chat, engine } = setup({ maxTurns: 2 });
    await chat.send('/vqa one', { image });
    await chat.send('/vqa two');
    await chat.send('/vqa three');
    await chat.send('/vqa four');
    expect(engine.requests[3]!.history.map((t) => t.question)).toEqual(['two', 'three']);
  });
});
