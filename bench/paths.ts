/** Starting the three measured paths, each in its own process, and asking them for one measured conversation. */
import { LineChild } from './line-child.ts';
import type { BatchFigures, BatchRequest, ConcurrencyFigures, PathFigures, TurnsRequest } from './protocol.ts';
import type { EngineTurns } from './engine-probe.ts';
import type { TaskId } from '../src/inference/types.ts';

const LOAD_TIMEOUT_MS = 5 * 60_000;
const RUN_TIMEOUT_MS = 10 * 60_000;
const tsx = (script: string, ...args: string[]): [string, string[]] => [process.execPath, ['--import', 'tsx', script, ...args]];

export class EnginePath {
  private constructor(private readonly child: LineChild) {}

  /** `maxBatch` 1 answers one request at a time (the engine without batched decoding). */
  static async start(modelDir: string, threads: number, maxBatch?: number): Promise<EnginePath> {
    const [cmd, args] = tsx('bench/engine-probe.ts', modelDir, String(threads), ...(maxBatch === undefined ? [] : [String(maxBatch)]));
    return new EnginePath((await LineChild.start(maxBatch === 1 ? 'engine (one at a time)' : 'engine', cmd, args, LOAD_TIMEOUT_MS)).child);
  }

  turns(conversation: string, image: string, task: TaskId, questions: string[], tokens: number): Promise<EngineTurns> {
    return this.child.request({ cmd: 'turns', conversation, image, task, questions, tokens }, RUN_TIMEOUT_MS);
  }

  concurrency(prefix: string, asks: { image: string; task: TaskId; question: string }[], tokens: number): Promise<ConcurrencyFigures> {
    return this.child.request({ cmd: 'concurrency', prefix, asks, tokens }, RUN_TIMEOUT_MS);
  }

  close(): Promise<void> {
    return this.child.close();
  }
}

/** The floor (TypeScript) or the official path (Python): both answer a TurnsRequest. */
export class IdsPath {
  private constructor(
    private readonly child: LineChild,
    private readonly convert: (answer: Record<string, unknown>) => PathFigures,
  ) {}

  static async floor(modelDir: string, threads: number): Promise<IdsPath> {
    const [cmd, args] = tsx('bench/floor-probe.ts', modelDir, String(threads));
    return new IdsPath((await LineChild.start('floor', cmd, args, LOAD_TIMEOUT_MS)).child, (a) => a as unknown as PathFigures);
  }

  static async official(modelDir: string, threads: number): Promise<IdsPath> {
    const args = ['-m', 'models.tools.official_path', '--model', modelDir, '--threads', String(threads)];
    return new IdsPath((await LineChild.start('official path', '/usr/bin/python3', args, LOAD_TIMEOUT_MS)).child, fromPython);
  }

  async run(request: TurnsRequest): Promise<PathFigures> {
    return this.convert(await this.child.request(request, RUN_TIMEOUT_MS));
  }

  /** Floor only: decode tokens/s in total with 1, 4, 16 … copies of the prompt per decoder call. */
  batched(request: BatchRequest): Promise<BatchFigures> {
    return this.child.request(request, RUN_TIMEOUT_MS);
  }

  close(): Promise<void> {
    return this.child.close();
  }
}

interface PythonTurn {
  prefill_ms: number;
  prefill_tokens: number;
  ttft_ms: number;
  decode_ms: number;
  decode_tokens: number;
  ids: number[];
}

function fromPython(a: Record<string, unknown>): PathFigures {
  const turns = a.turns as PythonTurn[];
  return {
    visionMs: a.vision_ms as number,
    peakRssMb: a.peak_rss_mb as number,
    turns: turns.map((t) => ({ prefillMs: t.prefill_ms, prefillTokens: t.prefill_tokens, ttftMs: t.ttft_ms, decodeMs: t.decode_ms, decodeTokens: t.decode_tokens, ids: t.ids })),
  };
}
