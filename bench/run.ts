/**
 * `npm run bench [-- --json] [--model DIR] [--quick] [--runs N] [--skip-scale] [--skip-official] [--threads N]`
 * The engine against its floor (the same ONNX graphs in the shortest loop) and against the official path (the
 * PyTorch reference generating as Hugging Face does), on the default model and on a LLaMA-7B-width scale model.
 * `--scale-out` measures the Redis backend instead: 1 and 2 worker processes, and the queue's hop.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchModel, type ModelReport, type Plan } from './measure.ts';
import { formatReport } from './report.ts';
import { benchScaleOut } from './scale-out.ts';

const SCALE_DIR = 'models/tools/work/scale';
const USAGE = 'usage: npm run bench -- [--json] [--model DIR] [--quick] [--runs N] [--skip-scale] [--skip-official] [--threads N] [--scale-out]';

function options() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      model: { type: 'string' },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      'skip-scale': { type: 'boolean', default: false },
      'skip-official': { type: 'boolean', default: false },
      threads: { type: 'string' },
      'scale-out': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const count = (name: string, text: string | undefined, fallback: number, max: number): number => {
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}`);
    return n;
  };
  return {
    json: values.json!,
    help: values.help!,
    model: values.model,
    quick: values.quick!,
    runs: count('runs', values.runs, values.quick ? 2 : 5, 50),
    skipScale: values['skip-scale']!,
    skipOfficial: values['skip-official']!,
    threads: count('threads', values.threads, availableParallelism(), 256),
    scaleOut: values['scale-out']!,
  };
}

function defaultModel(log: (line: string) => void): string {
  if (existsSync('models/default/model.json')) return 'models/default';
  log('models/default does not exist yet: measuring models/mini instead');
  return 'models/mini';
}

/** The scale model as make_scale.py builds it now (an older build with other sizes is rebuilt). */
function scaleModelCurrent(): boolean {
  if (!existsSync(join(SCALE_DIR, 'decoder.onnx')) || !existsSync(join(SCALE_DIR, 'model.json'))) return false;
  try {
    const info = JSON.parse(readFileSync(join(SCALE_DIR, 'model.json'), 'utf8'));
    return info.llm?.hidden_size === 4096 && info.llm?.mlp === 11008 && info.vision?.image_size === 448;
  } catch {
    return false;
  }
}

function ensureScaleModel(log: (line: string) => void): void {
  if (scaleModelCurrent()) return;
  log(`building the scale model in ${SCALE_DIR} (a few minutes, once)`);
  const made = spawnSync('/usr/bin/python3', ['-m', 'models.tools.make_scale', '--out', SCALE_DIR], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (made.status !== 0) {
    throw new Error('python3 -m models.tools.make_scale failed: run it by hand to see why, or pass --skip-scale');
  }
}

async function main(): Promise<void> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    console.log(USAGE);
    return;
  }
  const log = (line: string): void => console.error(line);
  const workDir = await mkdtemp(join(tmpdir(), 'minigpt-bench-'));
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), threads: opts.threads, load_average_before: loadavg().map((x) => Number(x.toFixed(2))), node: process.version };
  const began = performance.now();
  try {
    const modelDir = opts.model ?? defaultModel(log);
    if (opts.scaleOut) {
      const plan = { modelDir, workDir, rounds: opts.quick ? 1 : 3, hopSamples: opts.quick ? 10 : 40, log };
      const report = await benchScaleOut(plan);
      const after = loadavg().map((x) => Number(x.toFixed(2)));
      const seconds = Math.round((performance.now() - began) / 1000);
      console.log(JSON.stringify({ machine: { ...machine, load_average_after: after }, seconds, ...report }, null, opts.json ? 2 : 1));
      return;
    }
    // The default model is small: many runs are cheap. The scale model costs ~100× more per step and seconds per
    // prefill, so it gets fewer runs and concurrency up to 4 (its 16-way figure would be 16 prefills).
    const main: Plan = { runs: opts.runs, tokens: opts.quick ? 16 : 32, concurrency: [1, 4, 16], concurrencyRuns: opts.quick ? 1 : 3, concurrencyTokens: opts.quick ? 16 : 32, threads: opts.threads, official: !opts.skipOfficial, log };
    const result: ModelReport = await benchModel(modelDir, workDir, main);
    if (!opts.json) console.log(formatReport(result));
    let scale: ModelReport | undefined;
    if (!opts.skipScale) {
      ensureScaleModel(log);
      const plan: Plan = { runs: opts.quick ? 1 : Math.min(opts.runs, 2), tokens: opts.quick ? 6 : 12, concurrency: opts.quick ? [] : [1, 4], concurrencyRuns: 1, concurrencyTokens: opts.quick ? 6 : 8, threads: opts.threads, official: !opts.skipOfficial, log };
      scale = await benchModel(SCALE_DIR, workDir, plan);
      if (!opts.json) console.log(`\n${formatReport(scale)}`);
    }
    const seconds = (performance.now() - began) / 1000;
    if (opts.json) {
      console.log(JSON.stringify({ machine: { ...machine, load_average_after: loadavg().map((x) => Number(x.toFixed(2))) }, seconds: Math.round(seconds), ...result, ...(scale ? { scale } : {}) }, null, 2));
    } else {
      console.log(`\n${Math.round(seconds)} s; load average before ${machine.load_average_before.join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')} on ${machine.cores} cores (${machine.cpu})`);
    }
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    process.exitCode = 1;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
