export interface StoppingCriteria {
  /** True when the answer is finished; `positions` counts prompt and answer together. */
  done(generated: readonly number[], positions: number): boolean;
}

export class EosTokenCriteria implements StoppingCriteria {
  constructor(private readonly eosId: number) {}

  done(generated: readonly number[]): boolean {
    return generated[generated.length - 1] === this.eosId;
  }
}

export class MaxNewTokensCriteria implements StoppingCriteria {
  constructor(private readonly maxNewTokens: number) {}

  done(generated: readonly number[]): boolean {
    return generated.length >= this.maxNewTokens;
  }
}

/** The model was trained on contexts up to this many positions; past it answers degrade. */
export class ContextLimitCriteria implements StoppingCriteria {
  constructor(private readonly limit: number) {}

  done(_generated: readonly number[], positions: number): boolean {
    return positions >= this.limit;
  }
}
