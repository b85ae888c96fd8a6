/** What the bench's child processes (engine, floor, official path) are asked and answer, one JSON line each. */

/** One conversation's prompt as ids, the same for every path: the model input is seg0 ++ image ++ seg1. */
export interface TurnIds {
  seg0: number[];
  seg1: number[];
}

/** A first turn and one follow-up on the same image, each generating exactly `tokens` tokens. */
export interface TurnsRequest {
  /** Raw little-endian float32 [3, S, S] pixel values (engine preprocessing), shared by the floor and PyTorch. */
  pixels: string;
  turns: TurnIds[];
  tokens: number;
}

export interface TurnFigures {
  prefillMs: number;
  prefillTokens: number;
  /** From the request to the first generated token (the first turn includes preprocessing and vision). */
  ttftMs: number;
  /** Time for the tokens after the first. */
  decodeMs: number;
  decodeTokens: number;
  ids: number[];
}

export interface PathFigures {
  visionMs: number;
  turns: TurnFigures[];
  /** Event-loop delay p99 while generating, in the process that asked (engine and floor only). */
  lagP99Ms?: number;
  peakRssMb: number;
}

/** The floor's batched decode: `rows` copies of one prompt stepped together, the most batching can give. */
export interface BatchRequest {
  batch: { rows: number[]; steps: number };
  pixels: string;
  turns: TurnIds[];
}

/** Decode tokens per second in total, by rows per decoder call. */
export type BatchFigures = Record<string, number>;

export interface ConcurrencyFigures {
  conversations: number;
  tokens: number;
  wallMs: number;
  aggregateTokPerS: number;
  ttftP50Ms: number;
  ttftP95Ms: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  lagP99Ms: number;
  /** Σ over requests of preprocessing + vision + prefill: work that no decode batch can share. */
  startupMs: number;
}
