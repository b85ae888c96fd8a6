import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { zerosGraph } from '../src/inference/decoder/zeros-graph.ts';

// The graph that gives the WebGPU provider its KV buffers; here its bytes are checked on the CPU provider.
describe('zeros graph', () => {
  for (const type of ['float16', 'float32'] as const) {
    it(`is a valid ONNX model emitting zero ${type} tensors of the shape asked for`, async () => {
      const session = await ort.InferenceSession.create(zerosGraph(type), { intraOpNumThreads: 1 });
      expect(session.inputNames).toEqual(['shape']);
      for (const dims of [[1, 4, 7, 3], [2, 5]]) {
        const out = await session.run({ shape: new ort.Tensor('int64', BigInt64Array.from(dims, BigInt), [dims.length]) });
        const zeros = out.zeros!;
        expect(zeros.type).toBe(type);
        expect(zeros.dims).toEqual(dims);
        const data = zeros.data as Float32Array | Uint16Array;
        expect(data.length).toBe(dims.reduce((a, b) => a * b));
        expect(data.every((x) => x === 0)).toBe(true);
      }
      await session.release();
    });
  }
});
