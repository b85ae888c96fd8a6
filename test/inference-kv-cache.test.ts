import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { commonPrefixLength, ConversationCache, type ConversationState, imageSlots, truncateKv } from '../src/inference/kv-cache.ts';

const state = (hash: string): ConversationState => ({
  imageHash: hash, imageEmbeds: new Float32Array(0), imageSize: { width: 1, height: 1 }, sequence: [], kv: [],
});

describe('conversation cache', () => {
  it('drops the least recently used conversation when full', () => {
    const cache = new ConversationCache(2);
    cache.set('a', state('a'));
    cache.set('b', state('b'));
    cache.get('a');
    cache.set('c', state('c'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.imageHash).toBe('a');
    expect(cache.get('c')?.imageHash).toBe('c');
    expect(cache.size).toBe(2);
  });

  it('reports every state that leaves it, but not one replaced by a state holding the same cache', () => {
    const dropped: string[] = [];
    const cache = new ConversationCache(2, (s) => dropped.push(s.imageHash));
    const a = state('a');
    cache.set('a', a);
    cache.set('a', { ...a, imageHash: 'a, one turn on' }); // same kv: the answer was written into the cache
    cache.set('b', state('b'));
    cache.set('b', state('b, new buffers'));
    cache.set('c', state('c'));
    cache.delete('c');
    cache.delete('never there');
    expect(dropped).toEqual(['b', 'a, one turn on', 'c']);
    expect(cache.peek('b')?.imageHash).toBe('b, new buffers');
  });

  it('keeps the first positions of every head when truncating', () => {
    // [1, 2 heads, 3 positions, 2 dims]: value = head * 100 + position * 10 + dim.
    const data = Float32Array.from({ length: 12 }, (_, i) => Math.floor(i / 6) * 100 + (Math.floor(i / 2) % 3) * 10 + (i % 2));
    const [cut] = truncateKv([new ort.Tensor('float32', data, [1, 2, 3, 2])], 2);
    expect(cut!.dims).toEqual([1, 2, 2, 2]);
    expect([...(cut!.data as Float32Array)]).toEqual([0, 1, 10, 11, 100, 101, 110, 111]);
  });

  it('matches image slots only with image slots', () => {
    const before = [1, 1, 5, ...imageSlots(3), 7, 8];
    expect(commonPrefixLength(before, [1, 1, 5, ...imageSlots(3), 7, 9])).toBe(7);
    expect(commonPrefixLength(before, [1, 1, 5, 6])).toBe(3);
  });
});
