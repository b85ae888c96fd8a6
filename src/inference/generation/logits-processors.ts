/** One step of shaping next-token scores in place; `generated` is this answer's ids so far (prompt excluded). */
export interface LogitsProcessor {
  apply(logits: Float32Array, generated: readonly number[]): void;
}

/** Makes repeats less likely: positive scores divided by the penalty, negative ones multiplied (CTRL-style). */
export class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
  constructor(private readonly penalty: number) {}

  apply(logits: Float32Array, generated: readonly number[]): void {
    for (const id of new Set(generated)) {
      const s = logits[id]!;
      logits[id] = s < 0 ? s * this.penalty : s / this.penalty;
    }
  }
}

/** Bans the end-of-sequence token until `minLength` new tokens exist, so an answer is never empty. */
export class MinLengthLogitsProcessor implements LogitsProcessor {
  constructor(
    private readonly minLength: number,
    private readonly eosId: number,
  ) {}

  apply(logits: Float32Array, generated: readonly number[]): void {
    if (generated.length < this.minLength) logits[this.eosId] = -Infinity;
  }
}
