/**
 * The floor: the model directory's three ONNX graphs driven by the shortest loop that produces the same tokens
 * (no worker, no tokenizer, no logits pipeline, no streaming), with the engine's thread count.
 * `tsx bench/floor-probe.ts MODEL_DIR THREADS`, then JSON lines on stdin (see protocol.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as ort from 'onnxruntime-node';
import {
  decoderFeeds, imageEmbedsOf, logitsOf, presentsOf, tokenEmbedsOf, tokenFeeds, visionFeeds,
} from '../src/inference/decoder/graph-io.ts';
import type { BatchFigures, BatchRequest, PathFigures, TurnFigures, TurnsRequest } from './protocol.ts';

interface Dims {
  size: number;
  hidden: number;
  layers: number;
  heads: number;
  headDim: number;
  imageTokens: number;
  eos: number;
}

const [modelDir, threadsArg] = process.argv.slice(2);
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};
const int64 = (values: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);

function argmaxWithoutEos(logits: Float32Array, offset: number, vocab: number, eos: number): number {
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < vocab; i++) {
    const s = logits[offset + i]!;
    if (i !== eos && s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

async function main(): Promise<void> {
  const threads = Number(threadsArg);
  if (!modelDir || !(threads > 0)) {
    print({ error: 'usage: floor-probe.ts MODEL_DIR THREADS' });
    process.exit(2);
  }
  const t0 = performance.now();
  const info = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
  const d: Dims = { size: info.vision.image_size, hidden: info.llm.hidden_size, layers: info.llm.layers, heads: info.llm.heads, headDim: info.llm.head_dim, imageTokens: info.vision.tokens, eos: info.tokens.eos };
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, graphOptimizationLevel: 'all', executionProviders: ['cpu'] };
  const open = (name: string): Promise<ort.InferenceSession> => ort.InferenceSession.create(join(modelDir!, `${name}.onnx`), options);
  const [vision, embed, decoder] = await Promise.all([open('vision'), open('embed_tokens'), open('decoder')]);
  print({ ready: true, loadMs: performance.now() - t0 });

  const emptyPast = (): ort.Tensor[] => Array.from({ length: 2 * d.layers }, () => new ort.Tensor('float32', new Float32Array(0), [1, d.heads, 0, d.headDim]));

  /** Keeps the first `length` positions of each [1, H, P, hd] cache tensor. */
  const truncate = (kv: ort.Tensor[], length: number): ort.Tensor[] =>
    kv.map((t) => {
      const p = t.dims[2]!;
      if (p === length) return t;
      const src = t.data as Float32Array;
      const out = new Float32Array(d.heads * length * d.headDim);
      for (let h = 0; h < d.heads; h++) out.set(src.subarray(h * p * d.headDim, (h * p + length) * d.headDim), h * length * d.headDim);
      return new ort.Tensor('float32', out, [1, d.heads, length, d.headDim]);
    });

  async function step(embeds: Float32Array, count: number, kv: ort.Tensor[], past: number): Promise<{ next: number; kv: ort.Tensor[] }> {
    const out = await decoder.run(decoderFeeds({
      embeds: new ort.Tensor('float32', embeds, [1, count, d.hidden]),
      mask: int64(new Array(past + count).fill(1), [1, past + count]),
      positions: int64(Array.from({ length: count }, (_, i) => past + i), [1, count]),
      past: kv,
    }));
    const logits = logitsOf(out);
    const vocab = logits.dims[2]!;
    const next = argmaxWithoutEos(logits.data as Float32Array, (count - 1) * vocab, vocab, d.eos);
    return { next, kv: presentsOf(out, d.layers) };
  }

  async function run(r: TurnsRequest): Promise<PathFigures> {
    const pixels = new Float32Array((await readFile(r.pixels)).buffer.slice(0));
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    let t = performance.now();
    const image = imageEmbedsOf(await vision.run(visionFeeds(pixels, d.size)));
    const visionMs = performance.now() - t;
    let kv = emptyPast();
    let seen: number[] = []; // what the cache holds: ids, image slots as -(i+1)
    const turns: TurnFigures[] = [];
    for (const [k, turn] of r.turns.entries()) {
      t = performance.now();
      const slots = Array.from({ length: d.imageTokens }, (_, i) => -(i + 1));
      const sequence = [...turn.seg0, ...slots, ...turn.seg1];
      let reuse = 0;
      while (reuse < seen.length && seen[reuse] === sequence[reuse]) reuse++;
      reuse = Math.min(reuse, sequence.length - 1);
      const rest = sequence.slice(reuse);
      const ids = rest.filter((p) => p >= 0);
      const tokenEmbeds = tokenEmbedsOf(await embed.run(tokenFeeds(ids)));
      const embeds = new Float32Array(rest.length * d.hidden);
      let next = 0;
      rest.forEach((p, i) => {
        const src = p >= 0 ? tokenEmbeds.subarray(next * d.hidden, ++next * d.hidden) : image.subarray((-p - 1) * d.hidden, -p * d.hidden);
        embeds.set(src, i * d.hidden);
      });
      let out = await step(embeds, rest.length, truncate(kv, reuse), reuse);
      const prefillMs = performance.now() - t;
      const generated = [out.next];
      const ttftMs = prefillMs + (k === 0 ? visionMs : 0);
      seen = sequence;
      t = performance.now();
      while (generated.length < r.tokens) {
        const last = generated[generated.length - 1]!;
        const e = tokenEmbedsOf(await embed.run(tokenFeeds([last])));
        out = await step(e, 1, out.kv, seen.length);
        seen.push(last);
        generated.push(out.next);
      }
      kv = out.kv;
      turns.push({ prefillMs, prefillTokens: rest.length, ttftMs, decodeMs: performance.now() - t, decodeTokens: r.tokens - 1, ids: generated });
    }
    lag.disable();
    return { visionMs, turns, lagP99Ms: lag.percentile(99) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  }

  /** Prefills the first turn once, then steps `rows` copies of it together (masks all ones: no padding). */
  async function batched(r: BatchRequest): Promise<BatchFigures> {
    const pixels = new Float32Array((await readFile(r.pixels)).buffer.slice(0));
    const image = imageEmbedsOf(await vision.run(visionFeeds(pixels, d.size)));
    const { seg0, seg1 } = r.turns[0]!;
    const ids = [...seg0, ...seg1];
    const tokenEmbeds = tokenEmbedsOf(await embed.run(tokenFeeds(ids)));
    const D = d.hidden;
    const embeds = new Float32Array((ids.length + d.imageTokens) * D);
    embeds.set(tokenEmbeds.subarray(0, seg0.length * D));
    embeds.set(image, seg0.length * D);
    embeds.set(tokenEmbeds.subarray(seg0.length * D), (seg0.length + d.imageTokens) * D);
    const prefill = await step(embeds, ids.length + d.imageTokens, emptyPast(), 0);
    const past = ids.length + d.imageTokens;
    const figures: BatchFigures = {};
    for (const rows of r.batch.rows) {
      let kv: ort.Tensor[] = prefill.kv.map((t) => {
        const one = t.data as Float32Array;
        const many = new Float32Array(one.length * rows);
        for (let b = 0; b < rows; b++) many.set(one, b * one.length);
        return new ort.Tensor('float32', many, [rows, d.heads, past, d.headDim]);
      });
      const t = performance.now();
      let token = prefill.next;
      for (let s = 0; s < r.batch.steps; s++) {
        const e = tokenEmbedsOf(await embed.run(tokenFeeds(new Array(rows).fill(token), rows)));
        const out = await decoder.run(decoderFeeds({
          embeds: new ort.Tensor('float32', e, [rows, 1, D]),
          mask: int64(new Array(rows * (past + s + 1)).fill(1), [rows, past + s + 1]),
          positions: int64(new Array(rows).fill(past + s), [rows, 1]),
          past: kv,
        }));
        const logits = logitsOf(out);
        token = argmaxWithoutEos(logits.data as Float32Array, 0, logits.dims[2]!, d.eos);
        kv = presentsOf(out, d.layers);
      }
      figures[String(rows)] = (rows * r.batch.steps) / ((performance.now() - t) / 1000);
    }
    return figures;
  }

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      const request = JSON.parse(line) as TurnsRequest | BatchRequest;
      print('batch' in request ? await batched(request) : await run(request));
    } catch (err) {
      print({ error: (err as Error).message });
    }
  }
  await Promise.all([vision, embed, decoder].map((s) => s.release()));
}

await main();
