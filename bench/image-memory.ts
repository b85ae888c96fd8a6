/**
 * `npm run bench:memory -- [--count N] [--side PX] [--model DIR] [--json]`
 * Memory under large-dimension images: N different SIDE×SIDE PNGs (small files, mostly flat, as a decompression
 * test would send) asked about through the whole bot (check, store, engine, drawing) with the SQLite state, one
 * channel each. Prints resident memory before, at its peak and after, the state file's size and the event
 * loop's longest stall.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { Engine } from '../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { createLog } from '../src/log.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';

const USAGE = 'usage: npm run bench:memory -- [--count N] [--side PX] [--model DIR] [--json]';

function options() {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '100' },
      side: { type: 'string', default: '6320' },
      model: { type: 'string', default: DEFAULT_MODEL_DIR },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      /** Internal: write the images into this folder and exit (run in a child, so their making costs us nothing). */
      make: { type: 'string' },
    },
  });
  const whole = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}`);
    return n;
  };
  return {
    help: values.help,
    make: values.make,
    json: values.json,
    model: values.model,
    count: whole('count', values.count, 10_000),
    side: whole('side', values.side, 20_000),
  };
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** A white square with one red square placed by `n`, so every image (and its hash) differs. */
function largeImage(side: number, n: number): Promise<Buffer> {
  const block = Math.max(8, Math.round(side / 4));
  const offset = Math.round(((n % 7) / 7) * (side - block));
  const red = { r: 220, g: 30, b: n % 40 };
  const patch = { create: { width: block, height: block, channels: 3 as const, background: red } };
  return sharp({ create: { width: side, height: side, channels: 3, background: '#ffffff' } })
    .composite([{ input: patch, left: offset, top: offset }])
    .png()
    .toBuffer();
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof options>;
  try {
    opts = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  if (opts.make) {
    for (let i = 0; i <= opts.count; i++) {
      writeFileSync(join(opts.make, `${i}.png`), await largeImage(i === 0 ? 64 : opts.side, i));
    }
    return 0;
  }
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-memory-'));
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, '--count', String(opts.count), '--side', String(opts.side)];
  const made = spawnSync(process.execPath, [...args, '--make', dir], { stdio: 'inherit' });
  if (made.status !== 0) throw new Error('could not make the images');
  const image = (i: number) => readFileSync(join(dir, `${i}.png`));
  const stateFile = join(dir, 'state.sqlite');
  const engine = await Engine.load(opts.model, { threads: 1 });
  const store = new SqliteConversationStore(stateFile);
  const log = createLog('error'); // a request that fails unexpectedly is logged on stderr
  const bot = createBot({ engine, plugins: PLUGINS, store, log, generation: { doSample: false, maxNewTokens: 32 } });
  const lag = monitorEventLoopDelay({ resolution: 10 });
  // a first small request loads everything a request needs, so "before" is the bot at rest, ready
  const warm = image(0);
  const ask = (n: number, bytes: Uint8Array) =>
    bot.handle(
      {
        key: { platform: 'bench', workspace: 'w', channel: `c${n}` },
        user: { id: `u${n}` },
        command: 'refer',
        args: { phrase: 'the red square' },
        image: { bytes },
      },
      {},
      { imageBytes: 8e6 },
    );
  await ask(0, warm);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  lag.enable();
  const kinds = new Map<string, number>();
  const started = performance.now();
  for (let i = 1; i <= opts.count; i++) {
    const bytes = image(i);
    const reply = await ask(i, bytes);
    const kind = reply.image ? 'answer with image' : reply.kind;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    if (!opts.json) process.stderr.write(`\r${i}/${opts.count} rss ${mb(process.memoryUsage().rss)} MB`);
  }
  lag.disable();
  clearInterval(sample);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  await bot.close();
  await new Promise((resolve) => setTimeout(resolve, 32_000)); // the idle drawing thread ends, its memory returns
  const after = process.memoryUsage().rss;
  const figures = {
    images: opts.count,
    side: opts.side,
    seconds,
    rss_before_mb: mb(before),
    rss_peak_mb: mb(peak),
    rss_after_mb: mb(after),
    state_file_mb: Math.round((statSync(stateFile).size / 1024 / 1024) * 10) / 10,
    event_loop_max_stall_ms: Math.round(lag.max / 1e6),
    replies: Object.fromEntries(kinds),
  };
  await engine.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  if (opts.json) console.log(JSON.stringify(figures));
  else {
    process.stderr.write('\n');
    for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(24)} ${JSON.stringify(value)}`);
  }
  return 0;
}

process.exitCode = await main();
