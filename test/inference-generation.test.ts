import { describe, expect, it } from 'vitest';
import { pickToken, tokenPicker, isFinished } from '../src/inference/generation/pipeline.ts';
import { MinLengthLogitsProcessor, RepetitionPenaltyLogitsProcessor } from '../src/inference/generation/logits-processors.ts';
import { TopKLogitsWarper, TopPLogitsWarper } from '../src/inference/generation/logits-warpers.ts';
import { MultinomialSampler } from '../src/inference/generation/samplers.ts';
import { SeededRandom } from '../src/inference/generation/rng.ts';
import type { GenerationConfig } from '../src/inference/types.ts';

const EOS = 2;
const config = (over: Partial<GenerationConfig> = {}): GenerationConfig => ({
  maxNewTokens: 5, doSample: false, temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1, minLength: 0, ...over,
});

describe('logits processors and warpers', () => {
  it('penalises only ids already generated: positive scores divided, negative multiplied, once per id', () => {
    const logits = Float32Array.from([2, -2, 4, 1]);
    new RepetitionPenaltyLogitsProcessor(2).apply(logits, [0, 1, 0]);
    expect([...logits]).toEqual([1, -4, 4, 1]);
  });

  it('bans the end token until the minimum length is reached', () => {
    const early = Float32Array.from([0, 0, 9]);
    new MinLengthLogitsProcessor(2, EOS).apply(early, [5]);
    expect(early[EOS]).toBe(-Infinity);
    const later = Float32Array.from([0, 0, 9]);
    new MinLengthLogitsProcessor(2, EOS).apply(later, [5, 6]);
    expect(later[EOS]).toBe(9);
  });

  it('top-k keeps the k best and anything tied with the k-th', () => {
    const logits = Float32Array.from([1, 5, 3, 3, 0]);
    new TopKLogitsWarper(2).apply(logits);
    expect([...logits]).toEqual([-Infinity, 5, 3, 3, -Infinity]);
  });

  it('top-p keeps the smallest set of best tokens whose probability reaches p, and always the best one', () => {
    // Probabilities 0.5, 0.3, 0.15, 0.05 (logs); p = 0.8 keeps the first two.
    const probs = [0.5, 0.3, 0.15, 0.05];
    const logits = Float32Array.from(probs.map(Math.log));
    new TopPLogitsWarper(0.8).apply(logits);
    expect([...logits].map((l) => l > -Infinity)).toEqual([true, true, false, false]);
    const peaked = Float32Array.from([10, 0, 0]);
    new TopPLogitsWarper(0.01).apply(peaked);
    expect([...peaked].map((l) => l > -Infinity)).toEqual([true, false, false]);
  });
});

describe('token picking', () => {
  it('greedy takes the best score after the penalty, ignoring sampling warpers', () => {
    const picker = tokenPicker(config({ repetitionPenalty: 4, temperature: 0.1, topK: 1 }), EOS, 100);
    // Id 3 leads but was generated already: 8 / 4 = 2 < 3.
    expect(pickToken(picker, Float32Array.from([0, 3, 0, 8]), [3])).toBe(1);
  });

  it('sampling only ever draws tokens the warpers kept, in proportion to their probability', () => {
    const sampler = new MultinomialSampler(new SeededRandom(1));
    const counts = [0, 0, 0];
    const logits = Float32Array.from([Math.log(3), Math.log(1), -Infinity]);
    for (let i = 0; i < 4000; i++) counts[sampler.sample(logits)]!++;
    expect(counts[2]).toBe(0);
    expect(counts[0]! / counts[1]!).toBeGreaterThan(2.6);
    expect(counts[0]! / counts[1]!).toBeLessThan(3.4);
  });

  it('stops at the end token, at max new tokens, and at the context limit', () => {
    const picker = tokenPicker(config({ maxNewTokens: 3 }), EOS, 10);
    expect(isFinished(picker, [5, EOS], 5)).toBe(true);
    expect(isFinished(picker, [5, 6], 5)).toBe(false);
    expect(isFinished(picker, [5, 6, 7], 5)).toBe(true);
    expect(isFinished(picker, [5], 10)).toBe(true);
  });
});
