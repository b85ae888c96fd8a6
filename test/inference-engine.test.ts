import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/inference/engine.ts';
import { InputError } from '../src/inference/errors.ts';
import { DEFAULT_MODEL_DIR, MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import type { EngineCounters, GenerateRequest } from '../src/inference/types.ts';
import { until } from './helpers/bot-process.ts';
import { imageBytes } from './helpers/mini-golden.ts';

const GREEDY = { doSample: false, maxNewTokens: 12 };
const photo = imageBytes('photo-640x480.jpg');
const other = imageBytes('wide-300x200.png');

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MINI_MODEL_DIR, { threads: 1, maxConversations: 2 });
});
afterAll(() => engine.close());

function ask(conversation: string, request: Partial<GenerateRequest> = {}): GenerateRequest {
  return { conversation, image: photo, history: [], task: 'refer', question: 'the red circle', generation: GREEDY, ...request };
}

async function delta<T>(work: () => Promise<T>): Promise<{ result: T; counters: EngineCounters }> {
  const before = await engine.counters();
  const result = await work();
  const after = await engine.counters();
  const counters = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof EngineCounters]])) as unknown as EngineCounters;
  return { result, counters };
}

describe('Engine (worker thread, models/mini)', () => {
  it('exposes the parsed model.json', () => {
    expect(engine.model.name).toBe('mini');
    expect(engine.model.vision.image_size).toBe(112);
    expect(engine.device).toBe('cpu');
  });

  it('answers a follow-up on the same image without vision, prefilling only the new turn, with the ids of a cold run', async () => {
    const first = await engine.generate(ask('kv-a'));
    const history = [{ task: 'refer' as const, question: 'the red circle', answer: first.raw }];
    const followUp = { history, task: 'vqa' as const, question: 'what colour is it?' };
    const warm = await delta(() => engine.generate(ask('kv-a', followUp)));
    expect(warm.counters.visionRuns).toBe(0);
    expect(warm.result.visionCached).toBe(true);
    const newTurnTokens = warm.result.timings.prefillTokens;
    expect(newTurnTokens).toBe(warm.counters.prefillTokens);

    const cold = await delta(() => engine.generate(ask('kv-b', followUp)));
    expect(cold.counters.visionRuns).toBe(1);
    // The cold run prefills seg0, the 16 image slots and every turn; the warm one far fewer.
    expect(cold.result.timings.prefillTokens).toBeGreaterThan(newTurnTokens + 16);
    expect(warm.result.ids).toEqual(cold.result.ids);
  });

  it('starts over when a conversation gets a new image', async () => {
    await engine.generate(ask('kv-c'));
    const { counters, result } = await delta(() => engine.generate(ask('kv-c', { image: other })));
    expect(counters.visionRuns).toBe(1);
    expect(result.imageSize).toEqual({ width: 300, height: 200 });
  });

  it('forgets a conversation on request', async () => {
    await engine.generate(ask('kv-d'));
    engine.forget('kv-d');
    const { counters } = await delta(() => engine.generate(ask('kv-d')));
    expect(counters.visionRuns).toBe(1);
  });

  it('forgets a conversation even while its answer is being generated', async () => {
    const running = engine.generate(ask('kv-e', { generation: { ...GREEDY, maxNewTokens: 60, minLength: 60 } }));
    engine.forget('kv-e');
    await running;
    const { counters } = await delta(() => engine.generate(ask('kv-e')));
    expect(counters.visionRuns).toBe(1);
  });

  it('streams growing text and keeps the event loop free while generating', async () => {
    let ticks = 0;
    let last = performance.now();
    let longestStall = 0;
    const timer = setInterval(() => {
      ticks++;
      longestStall = Math.max(longestStall, performance.now() - last);
      last = performance.now();
    }, 1);
    const seen: string[] = [];
    const result = await engine.generate(ask('stream', { generation: { doSample: true, seed: 7, maxNewTokens: 40, minLength: 40 } }), (t) => seen.push(t));
    clearInterval(timer);
    expect(result.ids).toHaveLength(40);
    expect(seen.length).toBeGreaterThan(5);
    expect(seen[seen.length - 1]).toBe(result.raw);
    expect(ticks).toBeGreaterThan(5);
    expect(longestStall).toBeLessThan(100);
  });

  it('reproduces a sampled answer from its seed', async () => {
    const sampled = { doSample: true, seed: 42, maxNewTokens: 20 };
    const a = await engine.generate(ask('seed-a', { generation: sampled }));
    const b = await engine.generate(ask('seed-b', { generation: sampled }));
    const c = await engine.generate(ask('seed-c', { generation: { ...sampled, seed: 43 } }));
    expect(a.ids).toEqual(b.ids);
    expect(c.ids).not.toEqual(a.ids);
  });

  it("sends an image's bytes to the worker once per conversation, again when the worker dropped it", async () => {
    const sent = engine.imagesSent;
    const first = await engine.generate(ask('bytes-a'));
    const again = await engine.generate(ask('bytes-a'));
    expect(engine.imagesSent - sent).toBe(1);
    expect(again.visionCached).toBe(true);
    expect(again.ids).toEqual(first.ids);
    // two other conversations push bytes-a out of the worker's two-conversation cache: it asks for the bytes
    await engine.generate(ask('bytes-b', { image: other }));
    await engine.generate(ask('bytes-c', { image: other }));
    const evicted = await engine.generate(ask('bytes-a'));
    expect(engine.imagesSent - sent).toBe(4);
    expect(evicted.visionCached).toBe(false);
    expect(evicted.ids).toEqual(first.ids);
    engine.forget('bytes-c');
    await engine.generate(ask('bytes-c', { image: other }));
    expect(engine.imagesSent - sent).toBe(5);
  });

  it('rejects bad images with a short message and keeps serving', async () => {
    await expect(engine.generate(ask('bad', { image: new Uint8Array(0) }))).rejects.toThrow(InputError);
    const nonsense = new TextEncoder().encode('GIF89a nonsense');
    await expect(engine.generate(ask('bad', { image: nonsense }))).rejects.toMatchObject({
      problem: expect.stringMatching(/^(not-an-image|image-unreadable)$/),
    });
    const ok = await engine.generate(ask('bad'));
    expect(ok.ids.length).toBeGreaterThan(0);
  });

  it('refuses a question that alone is longer than the context limit', async () => {
    const long = 'describe the purple triangle and the orange star '.repeat(300);
    await expect(engine.generate(ask('long', { question: long }))).rejects.toMatchObject({
      problem: 'conversation-too-long',
    });
  });

  it('drops the oldest turns of a history too long for the context, keeping the image and the question', async () => {
    // 100 turns of about 30 positions each: about 3,000 positions, past the mini model's 2,000.
    const turn = { task: 'vqa' as const, question: 'where is the purple triangle and the orange star now?', answer: 'left of the circle, twice' };
    const history = Array.from({ length: 100 }, (_, i) => ({ ...turn, question: `${i}: ${turn.question}` }));
    const longest = await delta(() => engine.generate(ask('trim', { history, task: 'vqa', question: 'and the star?' })));
    const recent = await delta(() => engine.generate(ask('trim-recent', { history: history.slice(-5), task: 'vqa', question: 'and the star?' })));
    expect(longest.counters.visionRuns).toBe(1);
    expect(longest.result.timings.prefillTokens).toBeGreaterThan(5 * recent.result.timings.prefillTokens / 2);
    // Room is left for a whole answer: at most 2,000 - 12 positions of prompt.
    expect(longest.result.timings.prefillTokens).toBeLessThanOrEqual(2_000 - GREEDY.maxNewTokens);
    expect(longest.result.timings.prefillTokens).toBeGreaterThan(2_000 - GREEDY.maxNewTokens - 80);
  });

  it('says when an answer stopped at the token limit', async () => {
    const cut = await engine.generate(ask('cut', { generation: { ...GREEDY, maxNewTokens: 3, minLength: 3 } }));
    expect(cut.ids).toHaveLength(3);
    expect(cut.cut).toBe(true);
  });

  it('does not say so of an answer that ended by itself (the default model, which ends its answers)', async () => {
    const trained = await Engine.load(DEFAULT_MODEL_DIR, { threads: 1 });
    try {
      const ended = await trained.generate(ask('ended', { task: 'vqa', question: 'how many objects are there?' }));
      expect(ended.ids.length).toBeLessThan(GREEDY.maxNewTokens);
      expect(ended.cut).toBe(false);
    } finally {
      await trained.close();
    }
  });
});

describe('Engine device option', () => {
  it('falls back to the CPU with one clear line when the execution provider is missing', async () => {
    const lines: string[] = [];
    const onCuda = await Engine.load(MINI_MODEL_DIR, { device: 'cuda', threads: 1, warn: (l) => lines.push(l) });
    try {
      expect(onCuda.device).toBe('cpu');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/'cuda' is not available .*running on the CPU/);
      const answer = await onCuda.generate(ask('fallback'));
      expect(answer.ids.length).toBeGreaterThan(0);
    } finally {
      await onCuda.close();
    }
  });

  it('finishes the answer under way before closing, then refuses new work', async () => {
    const second = await Engine.load(MINI_MODEL_DIR, { threads: 1 });
    const running = second.generate(ask('closing', { generation: { ...GREEDY, maxNewTokens: 30, minLength: 30 } }));
    await second.close();
    expect((await running).ids).toHaveLength(30);
    await expect(second.generate(ask('closing'))).rejects.toThrow(/stopped/);
  });

  // Ending the worker thread while onnxruntime runs a step killed the whole process about one time in two.
  it('abandons answers under way when aborted, telling their callers, and the process lives on', async () => {
    for (let round = 0; round < 4; round++) {
      const aborting = await Engine.load(MINI_MODEL_DIR, { threads: 1 });
      let streamed = '';
      const running = aborting.generate(ask(`abort ${round}`, { generation: { ...GREEDY, maxNewTokens: 1500, minLength: 1500 } }), (t) => (streamed = t));
      const rejected = expect(running).rejects.toThrow('the engine was stopped');
      await until(() => streamed.length > 0, 'the first streamed text', 10_000);
      await aborting.abort();
      await rejected;
      expect(aborting.alive).toBe(false);
      await expect(aborting.generate(ask('after'))).rejects.toThrow(/stopped/);
    }
  }, 60_000);

  it('says which model directory is missing', async () => {
    await expect(Engine.load('/nonexistent/model')).rejects.toThrow(/no model at \/nonexistent\/model/);
  });
});
