import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createBot } from '../src/bot/core.ts';
import { Engine } from '../src/inference/engine.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';

const LOAD_TIMEOUT = 60_000;

// The plumbing model's words are noise; what is checked here is what the engine had to compute.
describe('GIVEN the real engine behind the framework', () => {
  let engine: Engine;
  let chat: MockAdapter;
  beforeAll(async () => {
    engine = await Engine.load(MINI_MODEL_DIR, { threads: 1 });
    chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, generation: { maxNewTokens: 4 } }));
  }, LOAD_TIMEOUT);
  afterAll(() => engine?.close());

  test('WHEN a follow-up comes without an image THEN the vision model does not run again', async () => {
    const first = await chat.send('/caption', { image: { bytes: drawScene(1).png }, channel: 'follow-up' });
    expect(first.reply.kind).toBe('answer');
    const before = await engine.counters();
    const second = await chat.send('/vqa what else?', { channel: 'follow-up' });
    expect(second.reply.kind).toBe('answer');
    const after = await engine.counters();
    expect(after.visionRuns).toBe(before.visionRuns);
    expect(after.cacheHits).toBeGreaterThan(before.cacheHits);
  }, LOAD_TIMEOUT);

  test('WHEN the channel is reset THEN the same image is seen afresh', async () => {
    const image = { bytes: drawScene(2).png };
    await chat.send('/caption', { image, channel: 'reset' });
    await chat.send('/reset', { channel: 'reset' });
    const before = await engine.counters();
    await chat.send('/caption', { image, channel: 'reset' });
    expect((await engine.counters()).visionRuns).toBe(before.visionRuns + 1);
  }, LOAD_TIMEOUT);
});

describe('GIVEN the real engine with a batch of three behind the framework', () => {
  test('WHEN three channels ask at once THEN none is queued and their decode steps share decoder calls', async () => {
    const engine = await Engine.load(MINI_MODEL_DIR, { threads: 1, maxBatch: 3 });
    try {
      const generation = { maxNewTokens: 24, doSample: false };
      const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, generation }));
      const ask = (i: number) =>
        chat.send('/caption', { image: { bytes: drawScene(i).png }, channel: `c${i}`, user: `u${i}` });
      const answers = await Promise.all([1, 2, 3].map(ask));
      expect(answers.map((a) => a.reply.kind)).toEqual(['answer', 'answer', 'answer']);
      expect(answers.map((a) => a.queued)).toEqual([[], [], []]);
      const counters = await engine.counters();
      expect(counters.decodeCalls).toBeLessThan(counters.decodeSteps);
    } finally {
      await engine.close();
    }
  }, LOAD_TIMEOUT);
});
