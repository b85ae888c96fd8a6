import * as ort from 'onnxruntime-node';
import type { DecodeCounters, DecodeScheduler, DecodingTask } from './driver.ts';

/** The decoder calls a batch makes (PlainDecoder's). */
export interface RowsDecoder {
  embed(ids: readonly number[]): Promise<Float32Array>;
  /** One call over `count` positions for rows padded on the left by `pads` in a cache `width` wide. */
  rows(embeds: Float32Array, count: number, pads: readonly number[], width: number, past: ort.Tensor[])
    : Promise<RowsOutput>;
}

/** The logits [rows, count, V] as the graph gives them, and the new caches. */
export interface RowsOutput {
  logits: Float32Array;
  kv: ort.Tensor[];
}

interface Row<T> {
  task: T;
  /** Masked positions on the left of this row in the shared cache. */
  pad: number;
}

/** Where a row's cache comes from when the batch is rebuilt: a row of the old batch, or a newcomer's own cache. */
interface Source {
  kv: ort.Tensor[];
  row: number;
  pad: number;
  length: number;
}

/**
 * The decode steps of several conversations as one decoder call. Rows are left-padded to a common cache length
 * and the padding is masked out; each row's position ids count only its own positions, so a row computes what
 * it would alone. While the membership stays the same the decoder's presents are fed straight back as the next
 * pasts; the shared cache is rebuilt (padding trimmed) only when conversations join or leave, between steps.
 */
export class DecodeBatch<T extends DecodingTask> implements DecodeScheduler<T> {
  private rows: Row<T>[] = [];
  private joining: T[] = [];
  /** past key/value per layer, [rows, H, width, hd]. */
  private kv: ort.Tensor[] = [];
  private width = 0;
  /** Finished rows: they stay in the cache (row indices unchanged) until the next rebuild drops them. */
  private leaving = new Set<T>();

  constructor(
    private readonly decoder: RowsDecoder,
    private readonly vocab: number,
    private readonly counters: DecodeCounters,
  ) {}

  get size(): number {
    return this.rows.length - this.leaving.size + this.joining.length;
  }

  get tasks(): T[] {
    return [...this.rows.map((r) => r.task).filter((t) => !this.leaving.has(t)), ...this.joining];
  }

  /** The task joins at the next step (its prefill is done and its first token chosen). */
  add(task: T): void {
    this.joining.push(task);
  }

  /** Drops every conversation (after a failed step, whose cache can no longer be trusted). */
  clear(): void {
    this.rows = [];
    this.joining = [];
    this.kv = [];
    this.width = 0;
    this.leaving.clear();
  }

  /** One token for every conversation in the batch; returns the tasks that finished (they leave the batch). */
  async step(): Promise<T[]> {
    if (this.leaving.size > 0 || this.joining.length > 0) this.rebuild();
    if (this.rows.length === 0) return [];
    const t = performance.now();
    const embeds = await this.decoder.embed(this.rows.map((r) => r.task.lastToken));
    const out = await this.decoder.rows(embeds, 1, this.rows.map((r) => r.pad), this.width, this.kv);
    this.kv = out.kv;
    this.width += 1;
    this.counters.decodeCalls++;
    const V = this.vocab;
    const ms = performance.now() - t;
    const finished: T[] = [];
    this.rows.forEach((r, i) => {
      const source = { kv: this.kv, row: i, pad: r.pad, length: this.width - r.pad };
      const logits = out.logits.slice(i * V, (i + 1) * V);
      if (r.task.applyStep(logits, ms, () => gather([source], source.length))) finished.push(r.task);
    });
    for (const task of finished) this.leaving.add(task);
    return finished;
  }

  /** Packs the staying rows and the newcomers into a fresh cache as wide as the longest conversation. */
  private rebuild(): void {
    const staying = this.rows.map((r, row) => ({ ...r, row })).filter((r) => !this.leaving.has(r.task));
    const sources: Source[] = staying.map((r) => ({ kv: this.kv, row: r.row, pad: r.pad, length: this.width - r.pad }));
    for (const task of this.joining) sources.push({ kv: task.takeCache(), row: 0, pad: 0, length: task.pastLength });
    const tasks = [...staying.map((r) => r.task), ...this.joining];
    this.width = Math.max(0, ...sources.map((s) => s.length));
    this.kv = sources.length > 0 ? gather(sources, this.width) : [];
    this.rows = tasks.map((task, i) => ({ task, pad: this.width - sources[i]!.length }));
    this.joining = [];
    this.leaving.clear();
  }
}

/** Copies each source row's real positions, right-aligned, into new [sources, H, width, hd] tensors. */
function gather(sources: Source[], width: number): ort.Tensor[] {
  const first = sources[0]!.kv;
  return first.map((_, layer) => {
    const [, heads, , headDim] = first[layer]!.dims as [number, number, number, number];
    const out = new Float32Array(sources.length * heads * width * headDim);
    sources.forEach((s, b) => {
      const tensor = s.kv[layer]!;
      const srcWidth = tensor.dims[2]!;
      const src = tensor.data as Float32Array;
      for (let h = 0; h < heads; h++) {
        const from = ((s.row * heads + h) * srcWidth + s.pad) * headDim;
        const to = ((b * heads + h) * width + (width - s.length)) * headDim;
        out.set(src.subarray(from, from + s.length * headDim), to);
      }
    });
    return new ort.Tensor('float32', out, [sources.length, heads, width, headDim]);
  });
}
