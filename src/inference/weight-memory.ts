import { readFile, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import type * as ort from 'onnxruntime-node';

/** Past this share of the machine's memory, fp16 weights are not widened to fp32 at load. */
const MEMORY_SHARE = 0.75;

export interface Fp16Plan<Name extends string> {
  /** Graphs whose fp16 weights stay fp16 in memory and are widened at each use. */
  keep: Name[];
  /** Bytes the weights would take with every fp16 weight widened to fp32, as ONNX Runtime does at load. */
  widenedBytes: number;
}

/** The export's record of its weight types (export.py writes export.json; project models have none). */
interface ExportRecord {
  dtype?: string;
  quantize?: string | null;
  target?: string;
}

async function graphBytes(modelDir: string, file: string): Promise<number> {
  const sizes = await Promise.all([file, `${file}.data`].map((f) => stat(join(modelDir, f)).then((s) => s.size, () => 0)));
  return sizes[0]! + sizes[1]!;
}

/**
 * An `--dtype fp16` export stores its weights in fp16 behind Cast nodes, and ONNX Runtime's constant folding
 * widens them all to fp32 when a session opens: a 7B model stored in 13.5 GB would take 27 GB. When that would
 * not fit, the graphs holding fp16 matmul weights keep them as stored and cast each one as it is used.
 */
export async function planFp16Weights<Name extends string>(
  modelDir: string,
  files: Record<Name, string>,
  totalMemory = totalmem(),
): Promise<Fp16Plan<Name>> {
  const record = (await readFile(join(modelDir, 'export.json'), 'utf8').then(JSON.parse, () => ({}))) as ExportRecord;
  const names = Object.keys(files) as Name[];
  // a quantized decoder's matmul weights are packed integers; the webgpu decoder computes in fp16 itself
  const fp16 = names.filter((n) => record.dtype === 'fp16' && (files[n] !== 'decoder.onnx' || (!record.quantize && record.target !== 'webgpu')));
  const bytes = await Promise.all(names.map((n) => graphBytes(modelDir, files[n])));
  const widenedBytes = names.reduce((sum, n, i) => sum + bytes[i]! * (fp16.includes(n) ? 2 : 1), 0);
  return { keep: widenedBytes > MEMORY_SHARE * totalMemory ? fp16 : [], widenedBytes };
}

/** Session options that leave fp16 initializers unfolded and return each widened copy's memory after use. */
export const KEEP_FP16: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: 'basic',
  enableCpuMemArena: false,
  enableMemPattern: false,
  extra: { optimization: { disable_specified_optimizers: 'ConstantFolding' } },
};
