/** One model's benchmark: the three paths interleaved run by run, then concurrency through the engine. */
import type { ModelInfo } from '../src/inference/model-config.ts';
import { EnginePath, IdsPath } from './paths.ts';
import type { BatchFigures, ConcurrencyFigures, PathFigures } from './protocol.ts';
import { concurrentAsks, prepare, QUESTIONS, TASK, turnIds } from './setup.ts';
import { median, round } from './stats.ts';

export interface Plan {
  runs: number;
  tokens: number;
  concurrency: number[];
  concurrencyRuns: number;
  concurrencyTokens: number;
  threads: number;
  official: boolean;
  log: (line: string) => void;
}

export interface PathSummary {
  vision_ms: number;
  prefill_tokens: number;
  prefill_tok_per_s: number;
  decode_tok_per_s: number;
  ttft_first_ms: number;
  followup_prefill_tokens: number;
  ttft_followup_ms: number;
  event_loop_lag_p99_ms?: number;
  peak_rss_mb: number;
}

export interface ModelReport {
  model: string;
  name: string;
  shape: string;
  runs: number;
  tokens: number;
  engine: PathSummary & { preprocess_ms: number };
  floor: PathSummary;
  official?: PathSummary;
  concurrency: Record<string, Omit<ConcurrencyFigures, 'conversations' | 'tokens'>>;
  /** The same concurrency through an engine that answers one request at a time (maxBatch 1). */
  concurrency_unbatched: Record<string, Omit<ConcurrencyFigures, 'conversations' | 'tokens'>>;
  concurrency_tokens: number;
  /** Decode tok/s in total of the floor stepping N copies of one prompt per call (no prefill, no padding). */
  floor_batched_decode_tok_per_s: Record<string, number>;
  /** Greedy ids of both turns equal to the engine's (near-ties in float32 can differ on random weights). */
  ids_agree: { floor: boolean; official?: boolean };
  ratios: Record<string, number>;
  event_loop_lag_p99_ms: number;
}

const decodeMsPerToken = (f: PathFigures): number => f.turns.reduce((s, t) => s + t.decodeMs, 0) / f.turns.reduce((s, t) => s + t.decodeTokens, 0);
const sameIds = (a: PathFigures, b: PathFigures): boolean => a.turns.every((t, i) => t.ids.join() === b.turns[i]?.ids.join());

function summarise(runs: PathFigures[]): PathSummary {
  const m = (f: (p: PathFigures) => number): number => round(median(runs.map(f)));
  const lags = runs.map((r) => r.lagP99Ms).filter((x): x is number => x !== undefined);
  return {
    vision_ms: m((r) => r.visionMs),
    prefill_tokens: runs[0]!.turns[0]!.prefillTokens,
    prefill_tok_per_s: m((r) => r.turns[0]!.prefillTokens / (r.turns[0]!.prefillMs / 1000)),
    decode_tok_per_s: m((r) => 1000 / decodeMsPerToken(r)),
    ttft_first_ms: m((r) => r.turns[0]!.ttftMs),
    followup_prefill_tokens: runs[0]!.turns[1]!.prefillTokens,
    ttft_followup_ms: m((r) => r.turns[1]!.ttftMs),
    ...(lags.length > 0 ? { event_loop_lag_p99_ms: round(median(lags)) } : {}),
    peak_rss_mb: round(Math.max(...runs.map((r) => r.peakRssMb))),
  };
}

function shapeOf(model: ModelInfo): string {
  const { llm, vision } = model;
  return `LLM ${llm.layers}×${llm.hidden_size} (${llm.heads} heads, MLP ${llm.mlp}, vocab ${llm.vocab_size}); ViT ${vision.layers}×${vision.width} at ${vision.image_size} px → ${vision.tokens} image tokens`;
}

export async function benchModel(modelDir: string, workDir: string, plan: Plan): Promise<ModelReport> {
  const setup = await prepare(modelDir, workDir);
  plan.log(`${setup.model.name}: starting the engine, the floor${plan.official ? ' and the official path' : ''} (${plan.threads} threads)`);
  const engine = await EnginePath.start(modelDir, plan.threads);
  const [floor, official] = await Promise.all([IdsPath.floor(modelDir, plan.threads), plan.official ? startOfficial(modelDir, plan) : undefined]).catch(async (err) => {
    await engine.close();
    throw err;
  });
  try {
    // The warm-up's answer becomes the follow-up's history, so every path is given the same second prompt.
    const warm = await engine.turns('warm-up', setup.image, TASK, QUESTIONS, plan.tokens);
    const request = { pixels: setup.pixels, turns: turnIds(setup, warm.answers[0]!), tokens: plan.tokens };
    await floor.run(request);
    await official?.run(request);
    const e: PathFigures[] = [];
    const f: PathFigures[] = [];
    const o: PathFigures[] = [];
    const preprocess: number[] = [];
    for (let r = 0; r < plan.runs; r++) {
      const er = await engine.turns(`run-${r}`, setup.image, TASK, QUESTIONS, plan.tokens);
      preprocess.push(er.preprocessMs);
      e.push(er);
      f.push(await floor.run(request));
      if (official) o.push(await official.run(request));
      plan.log(`  run ${r + 1}/${plan.runs}: decode ms/token engine ${decodeMsPerToken(er).toFixed(1)}, floor ${decodeMsPerToken(f[r]!).toFixed(1)}${official ? `, official ${decodeMsPerToken(o[r]!).toFixed(1)}` : ''}`);
    }
    // What batching can give at best on this machine: the floor decoding copies of one prompt together.
    const ceilings: BatchFigures[] = [];
    if (plan.concurrency.length > 0) {
      for (let r = 0; r < plan.concurrencyRuns; r++) ceilings.push(await floor.batched({ batch: { rows: plan.concurrency, steps: plan.concurrencyTokens }, pixels: setup.pixels, turns: request.turns }));
      plan.log(`  floor batched decode: ${Object.entries(ceilings[0]!).map(([n, v]) => `${n} rows ${v.toFixed(1)} tok/s`).join(', ')}`);
    }
    await floor.close();
    await official?.close();
    // Batched and one-at-a-time engines take turns level by level, so their ratio sees the same machine load.
    const conc: Record<number, ConcurrencyFigures[]> = {};
    const serial: Record<number, ConcurrencyFigures[]> = {};
    const unbatched = plan.concurrency.length > 0 ? await EnginePath.start(modelDir, plan.threads, 1) : undefined;
    try {
      for (let r = 0; r < plan.concurrencyRuns; r++) {
        for (const n of plan.concurrency) {
          const c = await engine.concurrency(`conc-${r}-${n}`, concurrentAsks(n), plan.concurrencyTokens);
          const s = await unbatched!.concurrency(`conc-${r}-${n}`, concurrentAsks(n), plan.concurrencyTokens);
          conc[n] ??= [];
          conc[n].push(c);
          serial[n] ??= [];
          serial[n].push(s);
          plan.log(`  ${n} at once: ${c.aggregateTokPerS.toFixed(1)} tok/s in total batched, ${s.aggregateTokPerS.toFixed(1)} one at a time; p95 latency ${c.latencyP95Ms.toFixed(0)} / ${s.latencyP95Ms.toFixed(0)} ms`);
        }
      }
    } finally {
      await unbatched?.close();
    }
    const ratios: Record<string, number> = {};
    const ratio = (name: string, values: number[]): void => {
      if (values.length > 0) ratios[name] = round(median(values));
    };
    // Each ratio pairs the measurements of one run, then takes the median over runs.
    ratio('engine_vs_floor_decode', e.map((x, i) => decodeMsPerToken(x) / decodeMsPerToken(f[i]!)));
    ratio('engine_vs_floor_prefill', e.map((x, i) => x.turns[0]!.prefillMs / f[i]!.turns[0]!.prefillMs));
    ratio('engine_vs_floor_ttft', e.map((x, i) => x.turns[0]!.ttftMs / f[i]!.turns[0]!.ttftMs));
    ratio('engine_vs_floor_followup_ttft', e.map((x, i) => x.turns[1]!.ttftMs / f[i]!.turns[1]!.ttftMs));
    ratio('engine_vs_official_decode', o.map((x, i) => decodeMsPerToken(x) / decodeMsPerToken(e[i]!)));
    ratio('engine_vs_official_ttft_speedup', o.map((x, i) => x.turns[0]!.ttftMs / e[i]!.turns[0]!.ttftMs));
    ratio('engine_vs_official_followup_ttft_speedup', o.map((x, i) => x.turns[1]!.ttftMs / e[i]!.turns[1]!.ttftMs));
    ratio('followup_ttft_speedup', e.map((x) => x.turns[0]!.ttftMs / x.turns[1]!.ttftMs));
    const one = conc[1] ?? [];
    for (const n of plan.concurrency.filter((n) => n > 1)) {
      ratio(`concurrency${n}_vs_1`, (conc[n] ?? []).map((c, i) => c.aggregateTokPerS / one[i]!.aggregateTokPerS));
      ratio(`batched_vs_unbatched_concurrency${n}`, (conc[n] ?? []).map((c, i) => c.aggregateTokPerS / serial[n]![i]!.aggregateTokPerS));
    }
    const engineSummary = summarise(e);
    return {
      model: modelDir,
      name: setup.model.name,
      shape: shapeOf(setup.model),
      runs: plan.runs,
      tokens: plan.tokens,
      engine: { ...engineSummary, preprocess_ms: round(median(preprocess)) },
      floor: summarise(f),
      ...(official ? { official: summarise(o) } : {}),
      concurrency: concurrencyMedians(conc),
      concurrency_unbatched: concurrencyMedians(serial),
      concurrency_tokens: plan.concurrencyTokens,
      floor_batched_decode_tok_per_s: Object.fromEntries(plan.concurrency.map((n) => [String(n), round(median(ceilings.map((c) => c[String(n)]!)))])),
      ids_agree: { floor: e.every((x, i) => sameIds(x, f[i]!)), ...(official ? { official: e.every((x, i) => sameIds(x, o[i]!)) } : {}) },
      ratios,
      // the worse of a single conversation's turns and the busiest concurrency level
      event_loop_lag_p99_ms: round(Math.max(engineSummary.event_loop_lag_p99_ms ?? 0, ...Object.values(conc).map((runs) => median(runs.map((c) => c.lagP99Ms))))),
    };
  } finally {
    await Promise.all([engine.close(), floor.close(), official?.close()]);
  }
}

/** A directory the reference cannot read (quantized weights, another layout) is measured without it. */
async function startOfficial(modelDir: string, plan: Plan): Promise<IdsPath | undefined> {
  try {
    return await IdsPath.official(modelDir, plan.threads);
  } catch (err) {
    plan.log(`  no official path for ${modelDir}: ${(err as Error).message}`);
    return undefined;
  }
}

function concurrencyMedians(levels: Record<number, ConcurrencyFigures[]>): ModelReport['concurrency'] {
  return Object.fromEntries(
    Object.entries(levels).map(([n, runs]) => {
      const m = (k: keyof ConcurrencyFigures): number => round(median(runs.map((c) => c[k])));
      return [n, { wallMs: m('wallMs'), aggregateTokPerS: m('aggregateTokPerS'), ttftP50Ms: m('ttftP50Ms'), ttftP95Ms: m('ttftP95Ms'), latencyP50Ms: m('latencyP50Ms'), latencyP95Ms: m('latencyP95Ms'), lagP99Ms: m('lagP99Ms'), startupMs: m('startupMs') }];
    }),
  );
}
