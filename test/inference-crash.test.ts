import { describe, expect, it } from 'vitest';
import { crashThreadHere } from '../bench/soak/thread-crash.ts';
import { Engine } from '../src/inference/engine.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { until } from './helpers/bot-process.ts';
import { imageBytes } from './helpers/mini-golden.ts';

/**
 * The engine's worker thread crashing (a bug in it, an error thrown where none was expected): the engine starts a
 * new thread and the questions in progress are answered by it. A file of its own, so that the only inference
 * thread in this process is the engine's under test.
 */

const GREEDY = { doSample: false, maxNewTokens: 300, minLength: 300 };
const photo = imageBytes('photo-640x480.jpg');

function ask(conversation: string, request: Partial<GenerateRequest> = {}): GenerateRequest {
  return { conversation, image: photo, history: [], task: 'refer', question: 'the red circle', generation: GREEDY, ...request };
}

describe('GIVEN an engine whose thread crashes', () => {
  it('WHEN mid-answer THEN a new thread gives the same answer, once, and the engine goes on', async () => {
    const warnings: string[] = [];
    const engine = await Engine.load(MINI_MODEL_DIR, { threads: 1, warn: (line) => warnings.push(line) });
    try {
      const expected = await engine.generate(ask('before the crash'));
      let streamed = '';
      const answering = engine.generate(ask('crash'), (text) => (streamed = text));
      await until(() => streamed.length > 0, 'the first streamed text', 10_000);
      const crash = await crashThreadHere('inference');
      // The thread crashes on the next message it is sent: this one, with the answer under way.
      engine.forget('another conversation');
      await crash.crashed;
      crash.close();
      const answer = await answering;
      expect(answer.ids).toEqual(expected.ids);
      expect(streamed).toBe(expected.raw);
      expect(engine.replacements).toBe(1);
      expect(engine.alive).toBe(true);
      expect(warnings).toEqual([
        'the inference worker crashed: the inference thread crashes now (injected); starting a new one, which answers the 1 question in progress again',
      ]);
      const history = [{ task: 'refer' as const, question: 'the red circle', answer: answer.raw }];
      const followUp = await engine.generate(ask('crash', { history, task: 'vqa', question: 'what colour is it?' }));
      expect(followUp.visionCached).toBe(true);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('WHEN the new thread crashes on the same question THEN that question fails with the reason and the next is answered', async () => {
    const engine = await Engine.load(MINI_MODEL_DIR, { threads: 1, warn: () => undefined });
    try {
      // The thread and the one started in its place each crash on the question.
      const crashes = await crashThreadHere('inference', 2);
      const doomed = expect(engine.generate(ask('doomed'))).rejects.toThrow(
        'the inference worker crashed: the inference thread crashes now (injected)',
      );
      await crashes.crashed;
      crashes.close();
      await doomed;
      const next = await engine.generate(ask('next'));
      expect(next.ids).toHaveLength(300);
      expect(engine.replacements).toBe(2);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('WHEN it crashes a fourth time within 10 minutes THEN the engine stops, says why once, and refuses what comes next', async () => {
    const failures: string[] = [];
    const engine = await Engine.load(MINI_MODEL_DIR, {
      threads: 1,
      warn: () => undefined,
      onFailed: (reason) => failures.push(reason.message),
    });
    try {
      const crashes = await crashThreadHere('inference', 4);
      const injected = 'the inference worker crashed: the inference thread crashes now (injected)';
      // Each question crashes its thread and the one started in its place.
      await expect(engine.generate(ask('first'))).rejects.toThrow(injected);
      await expect(engine.generate(ask('second'))).rejects.toThrow(`${injected}, 4 times in 10 minutes`);
      await crashes.crashed;
      crashes.close();
      expect(failures).toEqual([`${injected}, 4 times in 10 minutes`]);
      expect(engine.alive).toBe(false);
      await expect(engine.generate(ask('third'))).rejects.toThrow('4 times in 10 minutes');
    } finally {
      await engine.close();
    }
  }, 60_000);
});
