import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/inference/engine.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import type { EngineCounters, GenerateRequest, TaskId } from '../src/inference/types.ts';
import { imageBytes } from './helpers/mini-golden.ts';

// Batched decoding must not change a single id: every answer is compared with the same request answered alone.
const IMAGES = ['photo-640x480.jpg', 'wide-300x200.png', 'large-1024x768.png', 'gray-97x131.png', 'icon-64x48.png', 'tall-256x640-rgba.png'];
const QUESTIONS: [TaskId, string][] = [['refer', 'the red circle'], ['vqa', 'what colour is the square?'], ['caption', 'briefly'], ['detection', 'circle'], ['chat', 'how many shapes are there?'], ['grounding', 'describe the picture']];

/** A fixed answer length (EOS masked until then), so conversations of different lengths really overlap. */
function ask(i: number, conversation: string, tokens: number): GenerateRequest {
  const [task, question] = QUESTIONS[i % QUESTIONS.length]!;
  return { conversation, image: imageBytes(IMAGES[i % IMAGES.length]!), history: [], task, question, generation: { doSample: false, maxNewTokens: tokens, minLength: tokens } };
}

let alone: Engine;
let batched: Engine;
beforeAll(async () => {
  [alone, batched] = await Promise.all([Engine.load(MINI_MODEL_DIR, { threads: 1, maxBatch: 1 }), Engine.load(MINI_MODEL_DIR, { threads: 1, maxBatch: 8 })]);
});
afterAll(() => Promise.all([alone.close(), batched.close()]));

async function counted<T>(work: () => Promise<T>): Promise<{ result: T; counters: EngineCounters }> {
  const before = await batched.counters();
  const result = await work();
  const after = await batched.counters();
  const counters = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k as keyof EngineCounters]])) as unknown as EngineCounters;
  return { result, counters };
}

async function idsAlone(requests: GenerateRequest[]): Promise<number[][]> {
  const ids: number[][] = [];
  for (const r of requests) ids.push((await alone.generate({ ...r, conversation: `alone-${r.conversation}` })).ids);
  return ids;
}

describe('batched decoding (models/mini)', () => {
  it('gives six conversations asking at once the ids each gets alone, in shared decoder calls', async () => {
    const requests = [0, 1, 2, 3, 4, 5].map((i) => ask(i, `six-${i}`, 10));
    const { result, counters } = await counted(() => Promise.all(requests.map((r) => batched.generate(r))));
    expect(result.map((r) => r.ids)).toEqual(await idsAlone(requests));
    expect(counters.decodeSteps).toBe(6 * 9);
    expect(counters.decodeCalls).toBeLessThan(counters.decodeSteps / 2);
  });

  it('lets a conversation join while another is answering, without changing either answer', async () => {
    const long = ask(0, 'late-a', 30);
    const late = ask(1, 'late-b', 8);
    let joined: Promise<number[]> | undefined;
    const { result, counters } = await counted(async () => {
      const first = batched.generate(long, () => {
        joined ??= batched.generate(late).then((r) => r.ids);
      });
      return [(await first).ids, await joined!];
    });
    expect(result).toEqual(await idsAlone([long, late]));
    expect(counters.decodeCalls).toBeLessThan(counters.decodeSteps);
  });

  it('keeps the others going when one finishes early, and remembers each cache for the follow-up', async () => {
    const requests = [ask(2, 'early-a', 2), ask(3, 'early-b', 16), ask(4, 'early-c', 9)];
    const together = await Promise.all(requests.map((r) => batched.generate(r)));
    expect(together.map((r) => r.ids)).toEqual(await idsAlone(requests));
    expect(together.map((r) => r.ids.length)).toEqual([2, 16, 9]);
    // The cache cut out of the batch must serve the next turn exactly as an unbatched one does.
    const followUp = (r: GenerateRequest, answer: string, conversation: string): GenerateRequest => ({
      ...r, conversation, history: [{ task: r.task, question: r.question, answer }], task: 'vqa', question: 'and where is it?',
    });
    const second = await counted(() => batched.generate(followUp(requests[1]!, together[1]!.raw, 'early-b')));
    await alone.generate(requests[1]!);
    const reference = await alone.generate(followUp(requests[1]!, together[1]!.raw, 'alone-early-b'));
    expect(second.result.ids).toEqual(reference.ids);
    expect(second.counters.visionRuns).toBe(0);
    expect(second.result.timings.prefillTokens).toBe(reference.timings.prefillTokens);
    // reused, not recomputed: a cold conversation must prefill the whole prompt to reach the same ids
    const cold = await alone.generate(followUp(requests[1]!, together[1]!.raw, 'cold-early-b'));
    expect(cold.ids).toEqual(second.result.ids);
    expect(second.result.timings.prefillTokens).toBeLessThan(cold.timings.prefillTokens - 16);
  });

  it('is fair: every conversation streams its first text before any of them is complete', async () => {
    const firstText: number[] = [];
    const completed: number[] = [];
    await Promise.all([0, 1, 2, 3].map(async (i) => {
      await batched.generate(ask(i, `fair-${i}`, 24), () => {
        firstText[i] ??= performance.now();
      });
      completed[i] = performance.now();
    }));
    expect(Math.max(...firstText)).toBeLessThan(Math.min(...completed));
  });

  it('refuses a batch size that is not a whole number of at least 1', async () => {
    await expect(Engine.load(MINI_MODEL_DIR, { maxBatch: 0 })).rejects.toThrow(/maxBatch/);
  });
});
