import type * as ort from 'onnxruntime-node';
import type { DecoderOutput, DecodingTask } from './decoder/driver.ts';
import { isFinished, pickToken, type TokenPicker, tokenPicker } from './generation/pipeline.ts';
import type { ConversationState } from './kv-cache.ts';
import type { CoreRequest, GenerateResult, GenerationConfig } from './types.ts';

/** Raised when a conversation is forgotten while a task answers in it, so that the task does not cache it. */
export interface RunFlag {
  forgotten: boolean;
}

/** What a task needs of the model that runs it (InferenceCore provides it). */
export interface TaskHost {
  /** The end-of-sequence token. */
  readonly eos: number;
  /** A decode step of `token` after `pastLength` cached positions, in a decoder call of its own. */
  decodeOne(token: number, kv: ort.Tensor[], pastLength: number): Promise<DecoderOutput>;
  /** Counts a decode step, computed alone or in a batch. */
  countStep(): void;
  /** Token ids → text, special tokens skipped. */
  decode(ids: readonly number[]): string;
  /** The answer is complete: the conversation's cache now covers it too (unless forgotten meanwhile). */
  remember(key: string, state: ConversationState, run: RunFlag): void;
  /** The answer will not be completed: `kv` may hold half-written positions and is not kept. */
  abandon(key: string, kv: ort.Tensor[], run: RunFlag): void;
}

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
 * here (not in a loop's locals) is what lets several conversations share a batched step (decoder/batch.ts).
 */
export class GenerationTask implements DecodingTask {
  readonly generated: number[] = [];
  /** The prefill's scores for the first new token, before any processing (for parity checks). */
  readonly firstLogits: Float32Array;
  private readonly picker: TokenPicker;
  private finished = false;
  private decodeMs = 0;
  private readonly firstTokenMs: number;
  private lastText = '';
  private finalKv: (() => ort.Tensor[]) | undefined;

  constructor(
    private readonly host: TaskHost,
    private readonly request: CoreRequest,
    private readonly conversation: ConversationState,
    logits: Float32Array,
    private readonly setup: TaskSetup,
  ) {
    this.firstLogits = logits.slice();
    this.picker = tokenPicker(setup.config, host.eos, setup.limit);
    this.accept(logits);
    this.firstTokenMs = performance.now() - setup.began;
  }

  get done(): boolean {
    return this.finished;
  }

  /** The token the next decode step feeds. */
  get lastToken(): number {
    return this.generated[this.generated.length - 1]!;
  }

  /** Positions the conversation's cache holds before the next fed token. */
  get pastLength(): number {
    return this.conversation.sequence.length;
  }

  /** Feeds the last token and picks the next one, alone; returns true once the answer is complete. */
  async step(): Promise<boolean> {
    if (this.finished) return true;
    const t = performance.now();
    const { sequence, kv } = this.conversation;
    const out = await this.host.decodeOne(this.lastToken, kv, sequence.length);
    this.conversation.kv = out.kv;
    return this.applyStep(out.logits, performance.now() - t);
  }

  /**
   * Hands the cache to a decode batch, which keeps it from now on: the task gets it back only when it finishes
   * (through `finalKv` of applyStep), so a conversation's cache is never held twice.
   */
  takeCache(): ort.Tensor[] {
    const kv = this.conversation.kv;
    this.conversation.kv = [];
    return kv;
  }

  /**
   * Records a decode step of `lastToken` computed alone or in a batch: `logits` (this task's own copy) choose the
   * next token. `finalKv` cuts this conversation's cache out of a batch; it is called only if the answer is then
   * complete, when the cache is remembered for the next turn.
   */
  applyStep(logits: Float32Array, ms: number, finalKv?: () => ort.Tensor[]): boolean {
    this.conversation.sequence.push(this.lastToken);
    this.host.countStep();
    this.decodeMs += ms;
    this.finalKv = finalKv;
    this.accept(logits);
    return this.finished;
  }

  private accept(logits: Float32Array): void {
    this.generated.push(pickToken(this.picker, logits, this.generated));
    const positions = this.conversation.sequence.length + 1;
    this.finished = isFinished(this.picker, this.generated, positions);
    this.stream();
    if (!this.finished) return;
    if (this.finalKv) this.conversation.kv = this.finalKv();
    this.host.remember(this.request.conversation, this.conversation, this.setup.run);
  }

  /** The answer will not be completed (its step failed, or the engine is closing): its cache is not kept. */
  abandon(): void {
    this.host.abandon(this.request.conversation, this.conversation.kv, this.setup.run);
  }

  /** Streams the text so far, holding back a half-decoded multi-byte character. */
  private stream(): void {
    if (!this.setup.onText) return;
    const text = this.host.decode(this.generated);
    if (text === this.lastText || text.endsWith('\uFFFD')) return;
    this.lastText = text;
    this.setup.onText(text);
  }

  result(): GenerateResult {
    const s = this.setup;
    return {
      raw: this.host.decode(this.generated),
      ids: [...this.generated],
      cut: this.generated[this.generated.length - 1] !== this.host.eos,
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
