import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordAdapter, start } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord, type FakeUser, type RecordedRequest, user } from './fakes/discord/index.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/** /help, /identify and /reset as Discord users run them: slash commands through discord.js against the fake. */
const scene = drawScene({
  width: 320,
  height: 240,
  objects: [
    { colour: 'red', shape: 'circle', box: [20, 30, 100, 110] },
    { colour: 'blue', shape: 'square', box: [180, 120, 280, 220] },
  ],
});
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let fake: FakeDiscord;
let engine: ScriptedEngine;
let adapter: DiscordAdapter;

beforeAll(async () => {
  fake = await FakeDiscord.start();
  engine = new ScriptedEngine((request) =>
    request.task === 'refer' ? formatBox(pixelsToGrid(scene.objects[1]!.box, scene)) : 'a blue square',
  );
  const core = createBot({ engine, plugins: PLUGINS });
  adapter = await start(core, { token: fake.token, apiUrl: fake.apiUrl, registerCommands: false }, quiet);
});
afterAll(async () => {
  await adapter?.stop();
  await fake?.close();
});

const contentOf = (r: RecordedRequest): string => r.body?.data?.content ?? r.body?.content ?? '';

/** Runs a slash command and resolves with the text of the first reply that `done` accepts. */
async function slash(
  who: FakeUser,
  name: string,
  options: { name: string; type: number; value: string }[],
  done: (text: string) => boolean,
  withImage = false,
): Promise<string> {
  const since = Date.now();
  const attachment = fake.attachment(scene.png, 'scene.png', 'image/png');
  const imageOption = withImage ? [{ name: 'image', type: 11, value: attachment.id }] : [];
  const interaction = fake.interactionPayload({
    name,
    user: who,
    options: [...options, ...imageOption],
    attachments: withImage ? [attachment] : [],
  });
  fake.interaction(interaction);
  const reply = await fake.waitForRequest((r) => r.path.includes(`/${interaction.token}`) && done(contentOf(r)), since);
  return contentOf(reply);
}

describe('GIVEN the Discord slash commands', () => {
  const alice = user('alice');
  const bob = user('bob');

  it('WHEN /help runs THEN it lists the commands and how to point at a box', async () => {
    const text = await slash(alice, 'help', [], (t) => t.includes('/refer'));
    for (const command of ['/vqa', '/refer', '/identify', '/detect', '/caption', '/ground', '/reset']) {
      expect(text).toContain(command);
    }
  });

  it('WHEN /identify #1 follows /refer THEN the model is asked about the box #1 drew', async () => {
    const referred = await slash(alice, 'refer', [{ name: 'phrase', type: 3, value: 'the blue square' }], (t) =>
      t.includes('#1'), true);
    expect(referred).toMatch(/^#1 the blue square — red box at/);
    const identified = await slash(alice, 'identify', [{ name: 'box', type: 3, value: '#1' }], (t) =>
      t.includes('a blue square'));
    expect(identified).toMatch(/^a blue square/);
    const asked = engine.requests.at(-1)!;
    expect(asked.task).toBe('identify');
    // The blue square's box on the 100-grid is <56><50><87><91>; #1 comes back through whole pixels, within 1.
    const grid = /\{<(\d+)><(\d+)><(\d+)><(\d+)>\}/.exec(asked.question)!.slice(1).map(Number);
    expect(grid).toHaveLength(4);
    for (const [i, expected] of [56, 50, 87, 91].entries()) expect(Math.abs(grid[i]! - expected)).toBeLessThanOrEqual(1);
  });

  it('WHEN someone else runs /reset THEN the conversation stays; its starter clears it', async () => {
    const refused = await slash(bob, 'reset', [], (t) => t.length > 0);
    expect(refused).toBe('Only the person who started this conversation (or an admin) can clear it.');
    const cleared = await slash(alice, 'reset', [], (t) => t.length > 0);
    expect(cleared).toBe('Conversation cleared: send a new image to start again.');
    const after = await slash(alice, 'identify', [{ name: 'box', type: 3, value: '#1' }], (t) => t.length > 0);
    expect(after).toMatch(/needs an image/);
  });
});
