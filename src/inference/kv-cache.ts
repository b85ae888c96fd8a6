import * as ort from 'onnxruntime-node';

/** Default bound on conversations whose KV is kept (a 7B conversation of 2,000 positions: 2 GiB of fp32 cache). */
export const DEFAULT_MAX_CONVERSATIONS = 4;

/**
 * What the decoder has already seen, one entry per position: a token id, or an image slot written as
 * -(index + 1) so that the image part compares equal only to itself.
 */
export type Sequence = number[];

export function imageSlots(count: number): Sequence {
  return Array.from({ length: count }, (_, i) => -(i + 1));
}

export interface ConversationState {
  imageHash: string;
  imageEmbeds: Float32Array;
  imageSize: { width: number; height: number };
  /** Positions whose keys and values are in `kv`. */
  sequence: Sequence;
  /** present.{i}.key, present.{i}.value for every layer, in order, each [1, H, sequence.length, hd]. */
  kv: ort.Tensor[];
}

export function commonPrefixLength(a: Sequence, b: Sequence): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Keeps the first `length` positions of every [1, H, P, hd] tensor. */
export function truncateKv(kv: ort.Tensor[], length: number): ort.Tensor[] {
  return kv.map((t) => {
    const [batch, heads, positions, headDim] = t.dims as [number, number, number, number];
    if (positions === length) return t;
    const src = t.data as Float32Array;
    const out = new Float32Array(batch * heads * length * headDim);
    for (let h = 0; h < batch * heads; h++) {
      out.set(src.subarray(h * positions * headDim, (h * positions + length) * headDim), h * length * headDim);
    }
    return new ort.Tensor('float32', out, [batch, heads, length, headDim]);
  });
}

/**
 * Conversations by key, least recently used dropped first when full. `onDrop` hears of every state that leaves
 * (evicted, deleted, or replaced by one holding other buffers), so that its buffers can serve another conversation.
 */
export class ConversationCache {
  private readonly entries = new Map<string, ConversationState>();

  constructor(
    readonly maxConversations = DEFAULT_MAX_CONVERSATIONS,
    private readonly onDrop: (state: ConversationState) => void = () => {},
  ) {}

  get(key: string): ConversationState | undefined {
    const state = this.entries.get(key);
    if (state) {
      this.entries.delete(key);
      this.entries.set(key, state);
    }
    return state;
  }

  /** The state without making it the most recently used. */
  peek(key: string): ConversationState | undefined {
    return this.entries.get(key);
  }

  set(key: string, state: ConversationState): void {
    const old = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, state);
    if (old && old.kv !== state.kv) this.onDrop(old);
    while (this.entries.size > this.maxConversations) {
      const [oldest, dropped] = this.entries.entries().next().value as [string, ConversationState];
      this.entries.delete(oldest);
      this.onDrop(dropped);
    }
  }

  delete(key: string): void {
    const state = this.entries.get(key);
    if (!state) return;
    this.entries.delete(key);
    this.onDrop(state);
  }

  get size(): number {
    return this.entries.size;
  }
}
