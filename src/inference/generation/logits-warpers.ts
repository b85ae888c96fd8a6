import type { LogitsProcessor } from './logits-processors.ts';

export class TemperatureLogitsWarper implements LogitsProcessor {
  constructor(private readonly temperature: number) {}

  apply(logits: Float32Array): void {
    for (let i = 0; i < logits.length; i++) logits[i] = logits[i]! / this.temperature;
  }
}

/** Keeps the k best scores (ties with the k-th included), as Hugging Face's warper does. */
export class TopKLogitsWarper implements LogitsProcessor {
  constructor(private readonly k: number) {}

  apply(logits: Float32Array): void {
    const k = Math.min(Math.max(this.k, 1), logits.length);
    const kth = Float32Array.from(logits).sort().reverse()[k - 1]!;
    for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
  }
}

/** Nucleus: drops the least likely tokens whose total probability stays within 1 - p; the best one always stays. */
export class TopPLogitsWarper implements LogitsProcessor {
  constructor(private readonly p: number) {}

  apply(logits: Float32Array): void {
    // Only tokens still in play need sorting (after top-k that is a few dozen of a 32k vocabulary).
    const order = Array.from(logits.keys())
      .filter((i) => logits[i]! > -Infinity)
      .sort((a, b) => logits[a]! - logits[b]!);
    const max = logits[order[order.length - 1]!]!;
    let total = 0;
    for (const i of order) total += Math.exp(logits[i]! - max);
    let cumulative = 0;
    for (let r = 0; r < order.length - 1; r++) {
      const i = order[r]!;
      cumulative += Math.exp(logits[i]! - max) / total;
      if (cumulative > 1 - this.p) break;
      logits[i] = -Infinity;
    }
  }
}
