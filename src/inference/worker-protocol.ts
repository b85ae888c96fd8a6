import type { Device } from './sessions.ts';
import type { InputContext, InputProblem } from './errors.ts';
import type { CoreRequest, EngineCounters, GenerateResult } from './types.ts';

export interface WorkerInit {
  modelDir: string;
  device?: Device;
  threads?: number;
  maxConversations?: number;
  /** Conversations decoded together at most. */
  maxBatch: number;
  maxImagePixels?: number;
}

export type ToWorker =
  /** The image travels by hash; its bytes only when the worker may not hold it (else it answers 'need-image'). */
  | { type: 'generate'; id: number; request: CoreRequest; stream: boolean }
  | { type: 'counters'; id: number }
  | { type: 'forget'; conversation: string }
  | { type: 'close'; id: number }
  | { type: 'abort'; id: number };

export type FromWorker =
  | { type: 'ready'; device: Device }
  | { type: 'failed'; message: string }
  | { type: 'warn'; line: string }
  | { type: 'text'; id: number; text: string }
  | { type: 'need-image'; id: number }
  | { type: 'result'; id: number; result: GenerateResult }
  | { type: 'counters'; id: number; counters: EngineCounters }
  | { type: 'closed'; id: number }
  /** `input` is set when the request itself was refused (InputError), so the caller gets the same value back. */
  | { type: 'error'; id: number; message: string; input?: { problem: InputProblem; context: InputContext } };
