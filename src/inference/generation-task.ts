import type * as ort from 'onnxruntime-node';
import { decoderStep, embedTokens } from './decoder-step.ts';
import { isFinished, pickToken, type TokenPicker, tokenPicker } from './generation/pipeline.ts';
import type { InferenceCore, RunFlag } from './inference-core.ts';
import type { ConversationState } from './kv-cache.ts';
import type { GenerateRequest, GenerateResult, GenerationConfig } from './types.ts';

export interface TaskSetup {
  preprocessMs: number;
  visionMs: number;
  prefillMs: number;
  prefillTokens: number;
  /** performance.now() when the request arrived. */
  began: number;
  visionCached: boolean;
  config: GenerationConfig;
  /** Positions the conversation may reach, prompt included. */
  limit: number;
  /** Raised when the conversation is forgotten while this task runs. */
  run: RunFlag;
  onText?: (text: string) => void;
}

/**
 * One answer being generated, advanced a decode step at a time by whoever schedules the work; keeping the state
 * here (not in a loop's locals) is what lets several conversations take turns, or later share a batched step.
 */
export class GenerationTask {
  readonly generated: number[] = [];
  /** The prefill's scores for the first new token, before any processing (for parity checks). */
  readonly firstLogits: Float32Array;
  private readonly picker: TokenPicker;
  private finished = false;
  private decodeMs = 0;
  private readonly firstTokenMs: number;
  private lastText = '';

  constructor(
    private readonly core: InferenceCore,
    private readonly request: GenerateRequest,
    private readonly conversation: ConversationState,
    logits: Float32Array,
    private readonly setup: TaskSetup,
  ) {
    this.firstLogits = logits.slice();
    this.picker = tokenPicker(setup.config, core.model.tokens.eos, setup.limit);
    this.accept(logits);
    this.firstTokenMs = performance.now() - setup.began;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Feeds the last token and picks the next one; returns true once the answer is complete. */
  async step(): Promise<boolean> {
    if (this.finished) return true;
    const t = performance.now();
    const last = this.generated[this.generated.length - 1]!;
    const { sequence, kv } = this.conversation;
    const out = await decoderStep(this.core.sessions, this.core.model, await embedTokens(this.core.sessions, [last]), 1, kv, sequence.length);
    this.advance(last, out.kv);
    this.core.counters.decodeSteps++;
    this.accept(out.logits);
    this.decodeMs += performance.now() - t;
    return this.finished;
  }

  private advance(fed: number, kv: ort.Tensor[]): void {
    this.conversation.sequence.push(fed);
    this.conversation.kv = kv;
  }

  private accept(logits: Float32Array): void {
    this.generated.push(pickToken(this.picker, logits, this.generated));
    const positions = this.conversation.sequence.length + 1;
    this.finished = isFinished(this.picker, this.generated, positions);
    this.stream();
    if (this.finished) this.core.remember(this.request.conversation, this.conversation, this.setup.run);
  }

  /** Streams the text so far, holding back a half-decoded multi-byte character. */
  private stream(): void {
    if (!this.setup.onText) return;
    const text = this.core.tokenizer.decode(this.generated);
    if (text === this.lastText || text.endsWith('\uFFFD')) return;
    this.lastText = text;
    this.setup.onText(text);
  }

  result(): GenerateResult {
    const s = this.setup;
    return {
      raw: this.core.tokenizer.decode(this.generated),
      ids: [...this.generated],
      imageSize: this.conversation.imageSize,
      visionCached: s.visionCached,
      timings: {
        preprocessMs: s.preprocessMs,
        visionMs: s.visionMs,
        prefillMs: s.prefillMs,
        decodeMs: this.decodeMs,
        firstTokenMs: this.firstTokenMs,
        tokens: this.generated.length,
        prefillTokens: s.prefillTokens,
      },
    };
  }
}
