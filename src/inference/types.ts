/** MiniGPT-v2 task identifiers (the paper's), plus plain chat with no identifier. */
export type TaskId = 'vqa' | 'caption' | 'grounding' | 'refer' | 'identify' | 'detection' | 'chat';

export const TASK_IDS: readonly TaskId[] = ['vqa', 'caption', 'grounding', 'refer', 'identify', 'detection', 'chat'];

/** Generation settings; defaults come from the model directory's model.json `generation`. */
export interface GenerationConfig {
  maxNewTokens: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  minLength: number;
  /** Seed for sampling, so a sampled answer can be reproduced. */
  seed?: number;
}

/** One finished exchange of a conversation, as text. */
export interface Turn {
  task: TaskId;
  /** The user's text without the task identifier. */
  question: string;
  /** The model's raw answer (box tokens included). */
  answer: string;
}

/** A request as the inference core takes it: the image's bytes may be left out when the core holds that image. */
export interface CoreRequest {
  /** Conversation key: KV cache and image embeddings are kept per key between turns. */
  conversation: string;
  /** Encoded image bytes (PNG, JPEG, WebP, ...). */
  image?: Uint8Array;
  /** SHA-256 of the image bytes, hex; computed from `image` when left out. */
  imageHash?: string;
  /** Earlier turns on this image, oldest first. */
  history: Turn[];
  task: TaskId;
  question: string;
  generation?: Partial<GenerationConfig>;
  /** The platform event that asked, when known: a queue uses it so a redelivered event is answered once. */
  requestId?: string;
}

/** A request as callers hand it to the engine, bytes always included (the engine sends them only when needed). */
export interface GenerateRequest extends CoreRequest {
  image: Uint8Array;
}

export interface Timings {
  preprocessMs: number;
  visionMs: number;
  prefillMs: number;
  decodeMs: number;
  /** Time from the call to the first generated token. */
  firstTokenMs: number;
  tokens: number;
  prefillTokens: number;
}

export interface GenerateResult {
  /** The model's text, special tokens skipped, trimmed. */
  raw: string;
  ids: number[];
  /** True when the answer stopped at the token or context limit rather than ending by itself. */
  cut: boolean;
  imageSize: { width: number; height: number };
  timings: Timings;
  /** True when the vision model did not run because the conversation's embeddings were cached. */
  visionCached: boolean;
}

/** Counters a caller (and the tests) can read to see what the engine actually computed. */
export interface EngineCounters {
  visionRuns: number;
  prefillTokens: number;
  decodeSteps: number;
  /** Decoder calls made for decode steps: fewer than decodeSteps when conversations shared batched steps. */
  decodeCalls: number;
  cacheHits: number;
  /**
   * Sets of max-length KV buffers the `--target webgpu` decoder has allocated, spare ones included: the most
   * conversation caches in use at once, not the number of conversations served. 0 for the plain decoder.
   */
  cacheBuffers: number;
}
