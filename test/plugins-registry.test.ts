import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { createBot } from '../src/bot/core.ts';
import { definePlugin } from '../src/bot/plugin.ts';
import { createRegistry } from '../src/bot/registry.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

describe('GIVEN the shipped plugins', () => {
  const commands = createRegistry(PLUGINS).commands();

  test('THEN every task the issue names is a command', () => {
    expect(commands.map((c) => c.name)).toEqual(['vqa', 'caption', 'ground', 'refer', 'identify', 'detect', 'chat', 'reset', 'help']);
  });

  test('THEN image commands take an optional image, after their required options (Discord rejects the reverse)', () => {
    for (const command of commands) {
      const image = command.options.filter((o) => o.type === 'image');
      expect(image.length, command.name).toBe(command.usesImage ? 1 : 0);
      const firstOptional = command.options.findIndex((o) => !o.required);
      const lastRequired = command.options.map((o) => Boolean(o.required)).lastIndexOf(true);
      expect(firstOptional === -1 || lastRequired < firstOptional, command.name).toBe(true);
      for (const option of command.options) expect(option.description.length).toBeLessThanOrEqual(100);
    }
    expect(commands.find((c) => c.name === 'identify')!.options.map((o) => [o.name, o.type, Boolean(o.required)])).toEqual([
      ['box', 'box', true],
      ['image', 'image', false],
    ]);
  });
});

describe('GIVEN a new plugin file', () => {
  const count = definePlugin({
    name: 'count',
    description: 'Count objects of a kind',
    usesImage: true,
    options: [{ name: 'what', type: 'text', description: 'What to count', required: true }],
    config: z.strictObject({ template: z.string().default('how many {what} are there?') }),
    run: ({ args, config }) => ({ ask: { task: 'vqa', question: config.template.replace('{what}', args.what) } }),
  });

  test('WHEN it is listed THEN every adapter serves it and help shows it', async () => {
    const engine = new ScriptedEngine(() => '2');
    const chat = new MockAdapter(createBot({ engine, plugins: [...PLUGINS, count] }));
    const { reply } = await chat.send('/count circles', { image: { bytes: drawScene(5).png } });
    expect(reply).toMatchObject({ kind: 'answer', text: '2' });
    expect(engine.requests[0]).toMatchObject({ task: 'vqa', question: 'how many circles are there?' });
    expect((await chat.send('/help')).reply.text).toMatch(/\/count <what> \[image\] +Count objects of a kind/);
  });

  test('WHEN its config section is wrong THEN start-up names the key', () => {
    expect(() => createRegistry([count], { count: { template: 3 } })).toThrow(/^plugins\.count\.template: /);
    expect(() => createRegistry([count], { count: { tempalte: 'x' } })).toThrow(/^plugins\.count: .*tempalte/);
    expect(() => createRegistry([count], { counter: {} })).toThrow("plugins.counter: there is no plugin 'counter'");
  });

  test('WHEN it repeats a name or breaks the naming rules THEN it is refused at start', () => {
    expect(() => createRegistry([count, count])).toThrow("plugin 'count' is listed twice");
    expect(() => createRegistry([{ ...count, name: 'Count Things' }])).toThrow(/name must match/);
    expect(() => createRegistry([{ ...count, description: 'x'.repeat(101) }])).toThrow(/description/);
  });

  test('WHEN it is disabled in the config THEN no adapter offers it', async () => {
    const chat = new MockAdapter(createBot({ engine: new ScriptedEngine(() => ''), plugins: PLUGINS, settings: { plugins: { disabled: ['chat'] } } }));
    expect((await chat.send('/chat hello')).reply.text).toBe('There is no /chat command. Try /help.');
  });
});

describe('GIVEN an admin-only plugin', () => {
  const stats = definePlugin({
    name: 'stats',
    description: 'Show usage',
    usesImage: false,
    adminOnly: true,
    options: [],
    run: () => ({ info: '3 conversations' }),
  });
  const chat = new MockAdapter(
    createBot({ engine: new ScriptedEngine(() => ''), plugins: [stats], settings: { access: { admins: ['boss'] } } }),
  );

  test('THEN only admins may run it', async () => {
    expect((await chat.send('/stats', { user: 'ann' })).reply).toEqual({
      kind: 'user-error',
      error: 'admin-only',
      text: '/stats is for admins only.',
    });
    expect((await chat.send('/stats', { user: 'boss' })).reply).toEqual({ kind: 'info', text: '3 conversations' });
  });
});
