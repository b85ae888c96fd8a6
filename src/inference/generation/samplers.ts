import type { GenerationConfig } from '../types.ts';
import { SeededRandom } from './rng.ts';

export interface Sampler {
  /** Picks the next id from processed scores. */
  sample(logits: Float32Array): number;
}

export class GreedySampler implements Sampler {
  sample(logits: Float32Array): number {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
}

/** Draws from softmax(scores); tokens a warper removed (-Infinity) have zero probability. */
export class MultinomialSampler implements Sampler {
  constructor(private readonly random: SeededRandom) {}

  sample(logits: Float32Array): number {
    let max = -Infinity;
    for (const s of logits) if (s > max) max = s;
    const weights = new Float64Array(logits.length);
    let total = 0;
    for (let i = 0; i < logits.length; i++) {
      weights[i] = Math.exp(logits[i]! - max);
      total += weights[i]!;
    }
    let u = this.random.next() * total;
    let last = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i] === 0) continue;
      last = i;
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return last;
  }
}

export function isSampling(config: GenerationConfig): boolean {
  return config.doSample && config.temperature > 0;
}

export function samplerFor(config: GenerationConfig): Sampler {
  if (!isSampling(config)) return new GreedySampler();
  return new MultinomialSampler(new SeededRandom(config.seed ?? Math.floor(Math.random() * 2 ** 32)));
}
