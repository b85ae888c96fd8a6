import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type DiscordAdapter, type Log } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { PALETTE } from '../src/render/palette.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord, user, type FakeUser, type RecordedRequest } from './fakes/discord/index.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene, type Scene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * The Discord adapter driven through the real discord.js client against a local Discord, with the real framework
 * and plugins. The engine is scripted (it answers what the test says), so these tests are about what Discord
 * users see: acknowledgements, edits, uploads, refusals, conversations.
 */

const RATE_LIMIT = 3;
const scene: Scene = drawScene({
  width: 320,
  height: 240,
  objects: [
    { colour: 'red', shape: 'circle', box: [20, 30, 100, 110] },
    { colour: 'blue', shape: 'square', box: [180, 120, 280, 220] },
  ],
});

/** Answers a referring expression with the box of the scene object it names, like a model that got it right. */
function scriptedAnswer(request: GenerateRequest): string {
  if (request.task === 'refer') {
    const target = scene.objects.find((o) => request.question.includes(o.colour)) ?? scene.objects[0]!;
    return formatBox(pixelsToGrid(target.box, scene));
  }
  if (request.question.includes('long')) return longAnswer;
  return `answer ${request.history.length + 1} about the picture`;
}
const longAnswer = [
  'Here is a long answer.',
  '```ts',
  ...Array.from({ length: 120 }, (_, i) => `const value${i} = ${i}; // a line of code that takes some room`),
  '```',
  'And that was all.',
].join('\n');

const errors: object[] = [];
const log: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: (fields) => errors.push(fields) };

let fake: FakeDiscord;
let engine: ScriptedEngine;
let adapter: DiscordAdapter;

beforeAll(async () => {
  fake = await FakeDiscord.start();
  engine = new ScriptedEngine(scriptedAnswer);
  const bot = createBot({ engine, plugins: PLUGINS, settings: { limits: { perUser: { requests: RATE_LIMIT, windowSeconds: 600 } } } });
  adapter = await start(bot, { token: fake.token, apiUrl: fake.apiUrl, channels: [fake.channel.id], editIntervalMs: 1000 }, log);
});

afterAll(async () => {
  await adapter?.stop();
  await fake?.close();
});

const png = (name = 'scene.png') => fake.attachment(scene.png, name, 'image/png');
const byToken = (token: string) => (r: RecordedRequest) => r.path.includes(`/${token}`);

/** Runs a slash command as `who` and waits for the reply's final edit (the one that carries everything). */
async function slash(who: FakeUser, name: string, options: { name: string; type: number; value: string | number }[], attachments = [png()]) {
  const since = Date.now();
  const interaction = fake.interactionPayload({ name, user: who, options, attachments });
  fake.interaction(interaction);
  return { interaction, since };
}

describe('discord adapter', () => {
  it('answers /refer with a deferred ack, then an edit carrying a PNG boxed around the named object', async () => {
    const alice = user('alice');
    const attachment = png();
    const { interaction, since } = await slash(alice, 'refer', [
      { name: 'phrase', type: 3, value: 'the blue square' },
      { name: 'image', type: 11, value: attachment.id },
    ], [attachment]);
    const edit = await fake.waitForRequest((r) => byToken(interaction.token)(r) && r.method === 'PATCH' && r.files.length > 0, since);
    const forThis = fake.requests.filter((r) => r.at >= since && byToken(interaction.token)(r));
    expect(forThis[0]).toMatchObject({ method: 'POST', path: expect.stringMatching(/\/callback$/), body: { type: 5 } });
    expect(edit.files[0]!.contentType).toBe('image/png');
    const drawn = findDrawnBox(edit.files[0]!.bytes, PALETTE[0]!.rgb);
    const blue = scene.objects.find((o) => o.colour === 'blue')!.box;
    expect(drawn).not.toBeNull();
    drawn!.forEach((v, i) => expect(Math.abs(v - blue[i]!)).toBeLessThanOrEqual(6));
    expect(edit.body.content).toMatch(/blue square/);
  });
});
