import { describe, expect, test } from 'vitest';
import { createBot, type BotOptions } from '../src/bot/core.ts';
import { InputError } from '../src/inference/errors.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { gate, ScriptedEngine } from './helpers/scripted-engine.ts';

const image = { bytes: drawScene(3).png };

/** Waits for a state instead of a fixed time, so a busy machine does not change the outcome. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 10_000) throw new Error('condition never became true');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function bot(engine: ScriptedEngine, settings: BotOptions['settings'], now?: () => number) {
  return new MockAdapter(createBot({ engine, plugins: PLUGINS, settings, now }));
}

describe('GIVEN an engine that answers one request at a time and a queue of two', () => {
  const settings = { limits: { maxQueue: 2, perUser: { requests: 1, windowSeconds: 60 } } };

  test('WHEN four users ask at once THEN two wait with their positions, the fourth is told the queue is full and may ask later', async () => {
    const held = gate();
    const engine = new ScriptedEngine(async (r) => {
      if (r.question === 'first') await held.wait;
      return `answer to ${r.question}`;
    });
    const core = createBot({ engine, plugins: PLUGINS, settings });
    const chat = new MockAdapter(core);
    const first = chat.send('/vqa first', { image, user: 'a', channel: 'a' });
    await until(() => engine.requests.length === 1);
    const second = chat.send('/vqa second', { image, user: 'b', channel: 'b' });
    await until(() => core.queueLength() === 1);
    const third = chat.send('/vqa third', { image, user: 'c', channel: 'c' });
    await until(() => core.queueLength() === 2);
    const fourth = await chat.send('/vqa fourth', { image, user: 'd', channel: 'd' });
    expect(fourth.reply).toEqual({
      kind: 'user-error',
      error: 'queue-full',
      text: 'Too many requests are waiting (2); try again in a minute.',
    });
    expect(core.queueLength()).toBe(2);
    held.release();
    const done = await Promise.all([first, second, third]);
    expect(done.map((d) => d.reply.text)).toEqual(['answer to first', 'answer to second', 'answer to third']);
    expect(done.map((d) => d.queued)).toEqual([[], [1], [2, 1]]);
    expect(core.queueLength()).toBe(0);
    // Being turned away by a full queue did not use up the user's one request a minute.
    expect((await chat.send('/vqa fifth', { image, user: 'd', channel: 'd' })).reply.text).toBe('answer to fifth');
  });

  test('WHEN the running request fails THEN the queued ones still get their answers', async () => {
    const held = gate();
    const engine = new ScriptedEngine(async (r) => {
      if (r.question !== 'boom') return `answer to ${r.question}`;
      await held.wait;
      throw new Error('out of memory');
    });
    const core = createBot({ engine, plugins: PLUGINS, settings });
    const chat = new MockAdapter(core);
    const failing = chat.send('/vqa boom', { image, user: 'a' });
    await until(() => engine.requests.length === 1);
    const waiting = [chat.send('/vqa two', { image, user: 'b' }), chat.send('/vqa three', { image, user: 'c' })];
    await until(() => core.queueLength() === 2);
    held.release();
    expect((await failing).reply.kind).toBe('error');
    expect((await Promise.all(waiting)).map((w) => w.reply.text)).toEqual(['answer to two', 'answer to three']);
  });
});

describe('GIVEN an engine whose own queue is full (the Redis backend refuses at the engine)', () => {
  test('WHEN a user is refused THEN the refusal does not use up their one request a minute', async () => {
    let full = true;
    const engine = new ScriptedEngine(() => {
      if (full) throw new InputError('queue-full', { waiting: 8 });
      return 'a red circle';
    });
    const chat = bot(engine, { limits: { perUser: { requests: 1, windowSeconds: 60 } } });
    const refused = await chat.send('/vqa what is it?', { image, user: 'ann' });
    expect(refused.reply).toEqual({
      kind: 'user-error',
      error: 'queue-full',
      text: 'Too many requests are waiting (8); try again in a minute.',
    });
    full = false;
    expect((await chat.send('/vqa what is it?', { image, user: 'ann' })).reply.text).toBe('a red circle');
    expect((await chat.send('/vqa and now?', { image, user: 'ann' })).reply.error).toBe('rate-limited');
  });
});

describe('GIVEN a per-user limit of 2 requests a minute', () => {
  test('WHEN a user asks a third time THEN they are told when to retry, others and admins are not limited', async () => {
    let clock = 1_000_000;
    const engine = new ScriptedEngine(() => 'ok');
    const settings = { limits: { perUser: { requests: 2, windowSeconds: 60 } }, access: { admins: ['boss'] } };
    const chat = bot(engine, settings, () => clock);
    await chat.send('/caption', { image, user: 'ann' });
    clock += 20_000;
    await chat.send('/caption', { image, user: 'ann' });
    clock += 5_000;
    const limited = await chat.send('/caption', { image, user: 'ann' });
    expect(limited.reply).toEqual({
      kind: 'user-error',
      error: 'rate-limited',
      text: 'You have reached the limit of 2 per 60 s; try again in 35 s.',
    });
    expect((await chat.send('/caption', { image, user: 'bob' })).reply.kind).toBe('answer');
    for (let i = 0; i < 3; i++) expect((await chat.send('/caption', { image, user: 'boss' })).reply.kind).toBe('answer');
    expect((await chat.send('/help', { user: 'ann' })).reply.kind).toBe('info');
    clock += 36_000;
    expect((await chat.send('/caption', { image, user: 'ann' })).reply.kind).toBe('answer');
  });
});

describe('GIVEN allow and block lists', () => {
  const engine = new ScriptedEngine(() => 'ok');
  const chat = bot(engine, {
    access: { admins: ['boss'], blockUsers: ['troll'], allowChannels: ['bots', 'lab'], blockChannels: ['lab'] },
  });

  test.each([
    ['troll', 'bots', 'user-error', 'You are not allowed to use this bot.'],
    ['ann', 'general', 'user-error', 'This bot does not answer in this channel.'],
    ['ann', 'lab', 'user-error', 'This bot does not answer in this channel.'],
    ['boss', 'general', 'user-error', 'This bot does not answer in this channel.'],
    ['ann', 'bots', 'info', expect.stringContaining('/vqa')],
  ])('WHEN %s writes in #%s THEN the reply is %s', async (user, channel, kind, text) => {
    expect((await chat.send('/help', { user, channel })).reply).toMatchObject({ kind, text });
  });

  test('WHEN only some users are allowed THEN admins still pass', async () => {
    const strict = bot(engine, { access: { admins: ['boss'], allowUsers: ['ann'] } });
    expect((await strict.send('/help', { user: 'bob' })).reply.kind).toBe('user-error');
    expect((await strict.send('/help', { user: 'ann' })).reply.kind).toBe('info');
    expect((await strict.send('/help', { user: 'boss' })).reply.kind).toBe('info');
  });
});
