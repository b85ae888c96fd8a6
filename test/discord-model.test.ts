import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type DiscordAdapter, type Log } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { Engine } from '../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR, MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { PALETTE } from '../src/render/palette.ts';
import type { Box } from '../src/grounding/types.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord, user, type RecordedRequest } from './fakes/discord/index.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene } from './helpers/scene.ts';

/** The Discord adapter with the real engine behind it: slash command in, annotated answer out. */


function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r: Box): number => (r[2] - r[0]) * (r[3] - r[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

function withModel(dir: string, generation: { maxNewTokens?: number } = {}) {
  const errors: object[] = [];
  const log: Log = { debug: () => {}, info: () => {}, warn: (f) => errors.push(f), error: (f) => errors.push(f) };
  const state = {} as { fake: FakeDiscord; engine: Engine; adapter: DiscordAdapter; errors: object[] };
  beforeAll(async () => {
    state.errors = errors;
    state.fake = await FakeDiscord.start();
    state.engine = await Engine.load(dir, { threads: 1 });
    const bot = createBot({ engine: state.engine, plugins: PLUGINS, generation });
    state.adapter = await start(bot, { token: state.fake.token, apiUrl: state.fake.apiUrl }, log);
  });
  afterAll(async () => {
    await state.adapter?.stop();
    await state.engine?.close();
    await state.fake?.close();
  });
  return state;
}

/** Sends `/name` with the scene attached; resolves with the deferral and the edit that carries the final answer. */
async function ask(fake: FakeDiscord, name: string, option: { name: string; value: string } | undefined, png: Uint8Array) {
  const since = Date.now();
  const attachment = fake.attachment(png, 'scene.png', 'image/png');
  const options = [...(option ? [{ ...option, type: 3 }] : []), { name: 'image', type: 11, value: attachment.id }];
  const interaction = fake.interactionPayload({ name, user: user('tester'), options, attachments: [attachment] });
  fake.interaction(interaction);
  const mine = (r: RecordedRequest): boolean => r.at >= since && r.path.includes(`/${interaction.token}`);
  const deferral = await fake.waitForRequest(mine, since);
  const final = await fake.waitForRequest((r) => mine(r) && r.method === 'PATCH' && r.body?.attachments !== undefined, since, 60_000);
  return { since, deferral, final };
}

describe('discord with the mini engine (random weights: plumbing only)', () => {
  const state = withModel(MINI_MODEL_DIR, { maxNewTokens: 6 });

  it('defers within the window, then edits in the model’s answer', async () => {
    const scene = drawScene(7);
    const { since, deferral, final } = await ask(state.fake, 'caption', undefined, scene.png);
    expect(deferral.body.type).toBe(5);
    expect(deferral.at - since).toBeLessThan(3000);
    expect(typeof final.body.content).toBe('string');
    expect(final.body.content.length).toBeGreaterThan(0);
    expect(state.errors).toEqual([]);
  });
});

describe('discord with the trained default model', () => {
  const state = withModel(DEFAULT_MODEL_DIR);

  it('/refer boxes the named object of a generated scene in the uploaded PNG', async () => {
    const scene = drawScene({
      width: 384,
      height: 320,
      objects: [
        { colour: 'red', shape: 'circle', box: [30, 40, 130, 140] },
        { colour: 'blue', shape: 'square', box: [220, 170, 340, 290] },
        { colour: 'yellow', shape: 'triangle', box: [240, 30, 330, 120] },
      ],
    });
    const target = scene.objects[1]!;
    const { deferral, final } = await ask(state.fake, 'refer', { name: 'phrase', value: `the ${target.colour} ${target.shape}` }, scene.png);
    expect(deferral.body.type).toBe(5);
    const png = final.files.find((f) => f.contentType === 'image/png');
    expect(png).toBeDefined();
    const drawn = findDrawnBox(png!.bytes, PALETTE[0]!.rgb);
    expect(drawn).not.toBeNull();
    expect(iou(drawn!, target.box)).toBeGreaterThan(0.5);
    expect(state.errors).toEqual([]);
  });
});
