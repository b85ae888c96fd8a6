/**
 * The engine as a bot uses it, in its own process: `tsx bench/engine-probe.ts MODEL_DIR THREADS [MAX_BATCH] [DEVICE]`, then JSON
 * lines on stdin (see protocol.ts). Timings are taken by the caller around Engine.generate, so the worker's
 * scheduling and messaging count against the engine.
 */
import { readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Engine } from '../src/inference/engine.ts';
import type { Device } from '../src/inference/sessions.ts';
import type { GenerateRequest, GenerateResult, TaskId, Turn } from '../src/inference/types.ts';
import type { ConcurrencyFigures, PathFigures } from './protocol.ts';
import { percentile } from './stats.ts';

interface Ask {
  image: string;
  task: TaskId;
  question: string;
}

type Command =
  | { cmd: 'turns'; conversation: string; image: string; task: TaskId; questions: string[]; tokens: number }
  | { cmd: 'concurrency'; prefix: string; asks: Ask[]; tokens: number };

export interface EngineTurns extends PathFigures {
  preprocessMs: number;
  answers: string[];
}

const [modelDir, threadsArg, maxBatchArg, deviceArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const maxBatch = maxBatchArg === undefined || maxBatchArg === '' ? undefined : Number(maxBatchArg);
const device = (deviceArg || 'cpu') as Device;
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

/** Exactly `tokens` greedy tokens: EOS stays masked until then, as the other paths do. */
const fixedLength = (tokens: number) => ({ doSample: false, repetitionPenalty: 1, maxNewTokens: tokens, minLength: tokens });

async function turns(engine: Engine, c: Extract<Command, { cmd: 'turns' }>): Promise<EngineTurns> {
  const image = await readFile(c.image);
  const history: Turn[] = [];
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const results: { result: GenerateResult; wallMs: number }[] = [];
  lag.enable();
  for (const question of c.questions) {
    const request: GenerateRequest = { conversation: c.conversation, image, history: [...history], task: c.task, question, generation: fixedLength(c.tokens) };
    const began = performance.now();
    const result = await engine.generate(request, () => {});
    results.push({ result, wallMs: performance.now() - began });
    history.push({ task: c.task, question, answer: result.raw });
  }
  lag.disable();
  const first = results[0]!.result.timings;
  return {
    visionMs: first.visionMs,
    preprocessMs: first.preprocessMs,
    turns: results.map(({ result, wallMs }) => {
      const t = result.timings;
      return {
        prefillMs: t.prefillMs,
        prefillTokens: t.prefillTokens,
        // preprocessing (image decode and resize) is outside ONNX: reported apart, left out of the comparison
        ttftMs: t.firstTokenMs - t.preprocessMs,
        decodeMs: wallMs - t.firstTokenMs,
        decodeTokens: t.tokens - 1,
        ids: result.ids,
      };
    }),
    answers: results.map((r) => r.result.raw),
    lagP99Ms: lag.percentile(99) / 1e6,
    peakRssMb: peakRssMb(),
  };
}

/** Every conversation asks at once; time to first token and latency are seen from the caller. */
async function concurrency(engine: Engine, c: Extract<Command, { cmd: 'concurrency' }>): Promise<ConcurrencyFigures> {
  const images = await Promise.all(c.asks.map((a) => readFile(a.image)));
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const began = performance.now();
  const done = await Promise.all(
    c.asks.map(async (ask, i) => {
      let firstText: number | undefined;
      const request: GenerateRequest = { conversation: `${c.prefix}-${i}`, image: images[i]!, history: [], task: ask.task, question: ask.question, generation: fixedLength(c.tokens) };
      const result = await engine.generate(request, () => {
        firstText ??= performance.now();
      });
      const end = performance.now();
      const t = result.timings;
      return { tokens: t.tokens, ttft: (firstText ?? end) - began, latency: end - began, end, startup: t.preprocessMs + t.visionMs + t.prefillMs };
    }),
  );
  lag.disable();
  const wallMs = Math.max(...done.map((d) => d.end)) - began;
  const tokens = done.reduce((sum, d) => sum + d.tokens, 0);
  return {
    conversations: c.asks.length,
    tokens: c.tokens,
    wallMs,
    aggregateTokPerS: tokens / (wallMs / 1000),
    ttftP50Ms: percentile(done.map((d) => d.ttft), 50),
    ttftP95Ms: percentile(done.map((d) => d.ttft), 95),
    latencyP50Ms: percentile(done.map((d) => d.latency), 50),
    latencyP95Ms: percentile(done.map((d) => d.latency), 95),
    lagP99Ms: lag.percentile(99) / 1e6,
    startupMs: done.reduce((sum, d) => sum + d.startup, 0),
  };
}

async function main(): Promise<void> {
  if (!modelDir || !(threads > 0)) {
    print({ error: 'usage: engine-probe.ts MODEL_DIR THREADS [MAX_BATCH] [DEVICE]' });
    process.exit(2);
  }
  const t = performance.now();
  let engine: Engine;
  try {
    engine = await Engine.load(modelDir, { threads, maxBatch, device, warn: (line) => console.error(line) });
  } catch (err) {
    print({ error: (err as Error).message });
    process.exit(1);
  }
  print({ ready: true, loadMs: performance.now() - t, device: engine.device });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      const command = JSON.parse(line) as Command;
      print(command.cmd === 'turns' ? await turns(engine, command) : await concurrency(engine, command));
    } catch (err) {
      print({ error: (err as Error).message });
    }
  }
  await engine.close();
}

await main();
