import type { Device } from './sessions.ts';
import type { EngineCounters, GenerateRequest, GenerateResult } from './types.ts';

export interface WorkerInit {
  modelDir: string;
  device?: Device;
  threads?: number;
  maxConversations?: number;
  /** Conversations decoded together at most. */
  maxBatch: number;
}

export type ToWorker =
  | { type: 'generate'; id: number; request: GenerateRequest; stream: boolean }
  | { type: 'counters'; id: number }
  | { type: 'forget'; conversation: string }
  | { type: 'close'; id: number }
  | { type: 'abort'; id: number };

export type FromWorker =
  | { type: 'ready'; device: Device }
  | { type: 'failed'; message: string }
  | { type: 'warn'; line: string }
  | { type: 'text'; id: number; text: string }
  | { type: 'result'; id: number; result: GenerateResult }
  | { type: 'counters'; id: number; counters: EngineCounters }
  | { type: 'closed'; id: number }
  | { type: 'error'; id: number; message: string; inputError: boolean };
