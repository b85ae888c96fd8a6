/**
 * Size and CPU decode speed of exported model variants, and how far each one's logits are from a reference
 * export of the same checkpoint:
 *
 *   npx tsx bench/variants.ts --reference DIR [--context 300] [--steps 32] [--threads 2] DIR...
 *
 * Feeds the same random embeddings to every decoder (a prefill of `context` tokens, then `steps` single tokens),
 * so only the graph differs. Prints one JSON line per directory.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decoderLayout } from '../src/inference/decoder/graph-io.ts';
import { runGqa, runPlain, type DecoderRun, type DecoderShape } from './decoder-runs.ts';

function shapeOf(dir: string): DecoderShape {
  const llm = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).llm;
  return { layers: llm.layers, heads: llm.heads, headDim: llm.head_dim, hidden: llm.hidden_size, vocab: llm.vocab_size };
}

function diskBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

async function isGqa(dir: string): Promise<boolean> {
  const s = await ort.InferenceSession.create(join(dir, 'decoder.onnx'));
  const gqa = decoderLayout(s.inputNames) === 'webgpu';
  await s.release();
  return gqa;
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { reference: { type: 'string' }, context: { type: 'string', default: '300' }, steps: { type: 'string', default: '32' }, threads: { type: 'string', default: '2' } },
  });
  if (!values.reference || positionals.length === 0) {
    console.error('usage: npx tsx bench/variants.ts --reference DIR [--context 300] [--steps 32] [--threads 2] DIR...');
    process.exit(2);
  }
  const context = Number(values.context);
  const steps = Number(values.steps);
  const threads = Number(values.threads);
  const shape = shapeOf(values.reference);
  let seed = 12345;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed / 2147483647 - 0.5) * 2;
  };
  const chunks = [context, ...Array<number>(steps).fill(1)].map((t) => Float32Array.from({ length: t * shape.hidden }, random));
  const run = async (dir: string): Promise<DecoderRun> =>
    (await isGqa(dir))
      ? runGqa(join(dir, 'decoder.onnx'), shape, chunks, context + steps, { threads })
      : runPlain(join(dir, 'decoder.onnx'), shape, chunks, { threads });
  const reference = await run(values.reference);
  for (const dir of positionals) {
    const r = dir === values.reference ? reference : await run(dir);
    let err = 0;
    let agree = 0;
    r.logits.forEach((l, i) => {
      const ref = reference.logits[i]!;
      let d = 0;
      let m = 0;
      for (let j = 0; j < l.length; j++) {
        d = Math.max(d, Math.abs(l[j]! - ref[j]!));
        m = Math.max(m, Math.abs(ref[j]!));
      }
      err = Math.max(err, d / m);
      if (argmax(l) === argmax(ref)) agree++;
    });
    console.log(JSON.stringify({
      dir, mb: +(diskBytes(dir) / 1e6).toFixed(1), prefill_ms: +r.ms[0]!.toFixed(1), ms_per_token: +median(r.ms.slice(1)).toFixed(2),
      max_rel_err: +err.toPrecision(3), argmax_agree: `${agree}/${r.logits.length}`, threads,
    }));
  }
}

await main();
