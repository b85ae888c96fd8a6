import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/inference/engine.ts';
import { InferenceCore } from '../src/inference/inference-core.ts';
import { ModelSessions } from '../src/inference/sessions.ts';
import type { GenerateRequest, GenerateResult } from '../src/inference/types.ts';
import { makeFixture, relativeError, removeDir, runExport, tempDir } from './helpers/official-export.ts';
import { imageBytes } from './helpers/mini-golden.ts';

const GREEDY = { doSample: false, repetitionPenalty: 1, minLength: 0, maxNewTokens: 10 };
const photo = imageBytes('photo-640x480.jpg');
const other = imageBytes('wide-300x200.png');

function ask(conversation: string, request: Partial<GenerateRequest> = {}): GenerateRequest {
  return { conversation, image: photo, history: [], task: 'refer', question: 'the red circle', generation: GREEDY, ...request };
}

const followUp = (first: GenerateResult): Partial<GenerateRequest> => ({
  history: [{ task: 'refer', question: 'the red circle', answer: first.raw }],
  task: 'vqa',
  question: 'what colour is it?',
});

// The --target webgpu decoder (GroupQueryAttention over in-place max-length caches, no position_ids) runs on the
// CPU provider too. With fp32 activations it computes what the plain int4 decoder of the same checkpoint does, so
// the engine must give the same greedy ids in every scheduling case; fp16 is checked against a tolerance.
describe('the engine drives the --target webgpu decoder (CPU provider)', () => {
  let work: string;
  const engines: Record<'plain' | 'gpu32' | 'gpu16', Engine> = {} as never;
  beforeAll(async () => {
    work = tempDir('webgpu-layout-');
    makeFixture(join(work, 'files'));
    const variants = { plain: ['--quantize', 'int4'], gpu32: ['--target', 'webgpu', '--webgpu-activations', 'fp32'], gpu16: ['--target', 'webgpu'] };
    for (const [name, flags] of Object.entries(variants)) {
      expect(runExport(join(work, 'files'), join(work, name), flags).stderr).toBe('');
      engines[name as keyof typeof engines] = await Engine.load(join(work, name), { threads: 1 });
    }
  }, 120_000);
  afterAll(async () => {
    await Promise.all(Object.values(engines).map((e) => e.close()));
    removeDir(work);
  });

  it('answers a single turn with the ids of the plain decoder', async () => {
    const [plain, gpu] = await Promise.all([engines.plain.generate(ask('one')), engines.gpu32.generate(ask('one'))]);
    expect(gpu.ids.length).toBe(GREEDY.maxNewTokens);
    expect(gpu.ids).toEqual(plain.ids);
  });

  it('reuses the conversation cache for a follow-up, with the ids of the plain decoder and of a cold run', async () => {
    const first = await engines.gpu32.generate(ask('two'));
    const warm = await engines.gpu32.generate(ask('two', followUp(first)));
    const cold = await engines.gpu32.generate(ask('two-cold', followUp(first)));
    const plain = await engines.plain.generate(ask('two', followUp(first)));
    expect(warm.visionCached).toBe(true);
    expect(warm.timings.prefillTokens).toBeLessThan(cold.timings.prefillTokens - 16); // not the image and first turn again
    expect(warm.ids).toEqual(cold.ids);
    expect(warm.ids).toEqual(plain.ids);
  });

  it('decodes two conversations together, one finishing first, each with its own cache for the next turn', async () => {
    const run = (engine: Engine) =>
      Promise.all([
        engine.generate(ask('x', { generation: { ...GREEDY, maxNewTokens: 4 } })),
        engine.generate(ask('y', { task: 'caption', question: 'briefly', generation: { ...GREEDY, maxNewTokens: 14 } })),
      ]);
    const [gpu, plain] = [await run(engines.gpu32), await run(engines.plain)];
    expect(gpu.map((r) => r.ids)).toEqual(plain.map((r) => r.ids));
    const next = (engine: Engine, first: GenerateResult[]) => Promise.all([engine.generate(ask('x', followUp(first[0]!))), engine.generate(ask('y', followUp(first[1]!)))]);
    const [gpuNext, plainNext] = [await next(engines.gpu32, gpu), await next(engines.plain, plain)];
    expect(gpuNext.every((r) => r.visionCached)).toBe(true);
    expect(gpuNext.map((r) => r.ids)).toEqual(plainNext.map((r) => r.ids));
  });

  it('gives requests of one conversation that overlap caches of their own, and a later new image a clean start', async () => {
    const long = { ...GREEDY, minLength: GREEDY.maxNewTokens };
    const first = await engines.gpu32.generate(ask('same'));
    // Each diverges early from what the conversation's cache holds: sharing it would overwrite the others' positions.
    const requests = [
      { ...followUp(first), generation: long },
      { ...followUp(first), history: [{ task: 'refer' as const, question: 'the red circle', answer: 'it is not there at all' }], generation: long },
      { image: other, generation: long },
    ];
    const gpu = await Promise.all(requests.map((r) => engines.gpu32.generate(ask('same', r))));
    const plain = await Promise.all(requests.map((r, i) => engines.plain.generate(ask(`plain-${i}`, r))));
    expect(gpu.map((r) => r.ids)).toEqual(plain.map((r) => r.ids));
    const changed = await engines.gpu32.generate(ask('same', { image: photo }));
    expect(changed.visionCached).toBe(false);
    expect(changed.ids).toEqual((await engines.plain.generate(ask('plain-photo'))).ids);
  });

  it('holds cache buffers for the conversations it keeps, not for every conversation it has served', async () => {
    const engine = await Engine.load(join(work, 'gpu32'), { threads: 1, maxConversations: 2 });
    try {
      const first: GenerateResult[] = [];
      for (let i = 0; i < 5; i++) first.push(await engine.generate(ask(`kept-${i}`)));
      // Two kept, and the one being answered when the oldest was dropped.
      expect((await engine.counters()).cacheBuffers).toBe(3);
      // A kept conversation continues from its cache, one dropped starts again; both answer as the plain decoder.
      const [kept, dropped] = [await engine.generate(ask('kept-4', followUp(first[4]!))), await engine.generate(ask('kept-0', followUp(first[0]!)))];
      expect([kept.visionCached, dropped.visionCached]).toEqual([true, false]);
      const plain = await engines.plain.generate(ask('plain-kept', followUp(first[0]!)));
      expect(kept.ids).toEqual(plain.ids);
      expect(dropped.ids).toEqual(plain.ids);
      // As the eval does: every conversation forgotten after its answer, one forgotten while it is answered.
      for (let i = 0; i < 6; i++) {
        const answer = engine.generate(ask(`once-${i}`));
        if (i === 3) engine.forget(`once-${i}`);
        expect((await answer).ids).toEqual(first[0]!.ids);
        engine.forget(`once-${i}`);
      }
      // A new image for a kept conversation reuses its buffers, unless it is forgotten while the image is encoded.
      const onOther = (await engines.plain.generate(ask('plain-other', { image: other }))).ids;
      const changing = engine.generate(ask('kept-4', { image: other }));
      engine.forget('kept-4');
      expect((await changing).ids).toEqual(onOther);
      expect((await engine.generate(ask('kept-0', { image: other }))).ids).toEqual(onOther);
      // Refused requests of new conversations take none.
      const long = 'describe the purple triangle and the orange star '.repeat(300);
      for (let i = 0; i < 3; i++) {
        const refused = engine.generate(ask(`long-${i}`, { question: long }));
        await expect(refused).rejects.toMatchObject({ problem: 'conversation-too-long' });
      }
      expect((await engine.counters()).cacheBuffers).toBe(3);
    } finally {
      await engine.close();
    }
  });

  it('with fp16 activations it answers, its scores within fp16 rounding of the plain decoder, cold and cached', async () => {
    const answer = await engines.gpu16.generate(ask('half'));
    expect(answer.ids.length).toBe(GREEDY.maxNewTokens);
    const cores = await Promise.all(['plain', 'gpu16'].map((name) => InferenceCore.load(join(work, name), { threads: 1 })));
    try {
      for (const request of [ask('c'), ask('c', followUp(answer))]) {
        const [plain, half] = await Promise.all(cores.map((core) => core.start(request)));
        // fp16 activations, then MatMulNBits quantizing them to int8 blocks: 1.4e-2 measured here
        const error = relativeError(half!.firstLogits, plain!.firstLogits);
        expect(error).toBeLessThan(3e-2);
        // The first token must agree where the plain decoder's choice is clear by more than that error.
        const [best, second] = [...plain!.firstLogits].sort((x, y) => y - x);
        expect((best! - second!) / Math.max(...plain!.firstLogits.map(Math.abs))).toBeGreaterThan(2 * error);
        expect(half!.generated[0]).toBe(plain!.generated[0]);
        while (!(await half!.step()));
      }
    } finally {
      await Promise.all(cores.map((core) => core.close()));
    }
  });

  it('names every missing decoder input even when outputs are pre-allocated', async () => {
    const sessions = await ModelSessions.create(join(work, 'gpu32'), { threads: 1 });
    try {
      const buffer = new ort.Tensor('float32', new Float32Array(4 * 8 * 32), [1, 4, 8, 32]);
      const feeds = { inputs_embeds: new ort.Tensor('float32', new Float32Array(128), [1, 1, 128]) };
      await expect(sessions.run('decoder', feeds, { logits: null, 'present.0.key': buffer })).rejects.toThrow(
        'decoder.onnx: missing inputs attention_mask, past_key_values.0.key, past_key_values.0.value, past_key_values.1.key, past_key_values.1.value',
      );
    } finally {
      await sessions.release();
    }
  });
});
