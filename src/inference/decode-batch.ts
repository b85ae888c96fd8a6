import * as ort from 'onnxruntime-node';
import { embedTokens } from './decoder-step.ts';
import type { GenerationTask } from './generation-task.ts';
import type { InferenceCore } from './inference-core.ts';

interface Row {
  task: GenerationTask;
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
export class DecodeBatch {
  private rows: Row[] = [];
  private joining: GenerationTask[] = [];
  /** past key/value per layer, [rows, H, width, hd]. */
  private kv: ort.Tensor[] = [];
  private width = 0;
  /** Finished rows: they stay in the cache (row indices unchanged) until the next rebuild drops them. */
  private leaving = new Set<GenerationTask>();

  constructor(private readonly core: InferenceCore) {}

  get size(): number {
    return this.rows.length - this.leaving.size + this.joining.length;
  }

  get tasks(): GenerationTask[] {
    return [...this.rows.map((r) => r.task).filter((t) => !this.leaving.has(t)), ...this.joining];
  }

  /** The task joins at the next step (its prefill is done and its first token chosen). */
  add(task: GenerationTask): void {
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
  async step(): Promise<GenerationTask[]> {
    if (this.leaving.size > 0 || this.joining.length > 0) this.rebuild();
    if (this.rows.length === 0) return [];
    const t = performance.now();
    const { model, sessions } = this.core;
    const { hidden_size: D, layers, vocab_size: V } = model.llm;
    const B = this.rows.length;
    const embeds = await embedTokens(sessions, this.rows.map((r) => r.task.lastToken));
    const mask = new BigInt64Array(B * (this.width + 1));
    this.rows.forEach((r, i) => {
      mask.fill(1n, i * (this.width + 1) + r.pad, (i + 1) * (this.width + 1));
    });
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [B, 1, D]),
      attention_mask: new ort.Tensor('int64', mask, [B, this.width + 1]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from(this.rows, (r) => BigInt(this.width - r.pad)), [B, 1]),
    };
    for (let i = 0; i < layers; i++) {
      feeds[`past_key_values.${i}.key`] = this.kv[2 * i]!;
      feeds[`past_key_values.${i}.value`] = this.kv[2 * i + 1]!;
    }
    const out = await sessions.run('decoder', feeds);
    this.kv = [];
    for (let i = 0; i < layers; i++) this.kv.push(out[`present.${i}.key`]!, out[`present.${i}.value`]!);
    this.width += 1;
    this.core.counters.decodeCalls++;
    const logits = out.logits!.data as Float32Array;
    const ms = performance.now() - t;
    const finished: GenerationTask[] = [];
    this.rows.forEach((r, i) => {
      const source = { kv: this.kv, row: i, pad: r.pad, length: this.width - r.pad };
      if (r.task.applyStep(logits.slice(i * V, (i + 1) * V), ms, () => gather([source], source.length))) finished.push(r.task);
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
