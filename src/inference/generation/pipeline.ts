import type { GenerationConfig } from '../types.ts';
import { type LogitsProcessor, MinLengthLogitsProcessor, RepetitionPenaltyLogitsProcessor } from './logits-processors.ts';
import { TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper } from './logits-warpers.ts';
import { isSampling, type Sampler, samplerFor } from './samplers.ts';
import { ContextLimitCriteria, EosTokenCriteria, MaxNewTokensCriteria, type StoppingCriteria } from './stopping-criteria.ts';

/** Everything that turns a step's logits into the next id, in the official order. */
export interface TokenPicker {
  processors: LogitsProcessor[];
  sampler: Sampler;
  stopping: StoppingCriteria[];
}

/**
 * Repetition penalty → min length → temperature → top-k → top-p → sample (Hugging Face's order, as the official
 * demo runs it). Greedy decoding applies the processors but not the warpers, again as Hugging Face does.
 */
export function tokenPicker(config: GenerationConfig, eosId: number, contextLimit: number): TokenPicker {
  const processors: LogitsProcessor[] = [];
  if (config.repetitionPenalty !== 1) processors.push(new RepetitionPenaltyLogitsProcessor(config.repetitionPenalty));
  if (config.minLength > 0) processors.push(new MinLengthLogitsProcessor(config.minLength, eosId));
  if (isSampling(config)) {
    if (config.temperature !== 1) processors.push(new TemperatureLogitsWarper(config.temperature));
    if (config.topK > 0) processors.push(new TopKLogitsWarper(config.topK));
    if (config.topP < 1) processors.push(new TopPLogitsWarper(config.topP));
  }
  return {
    processors,
    sampler: samplerFor(config),
    stopping: [new EosTokenCriteria(eosId), new MaxNewTokensCriteria(config.maxNewTokens), new ContextLimitCriteria(contextLimit)],
  };
}

export function pickToken(picker: TokenPicker, logits: Float32Array, generated: readonly number[]): number {
  for (const p of picker.processors) p.apply(logits, generated);
  return picker.sampler.sample(logits);
}

export function isFinished(picker: TokenPicker, generated: readonly number[], positions: number): boolean {
  return picker.stopping.some((c) => c.done(generated, positions));
}
