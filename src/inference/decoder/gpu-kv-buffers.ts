import * as ort from 'onnxruntime-node';
import { type ZerosType, zerosGraph } from './zeros-graph.ts';

/**
 * Zero-filled tensors that live in GPU memory, for the WebGPU provider: JS cannot allocate GPU buffers, so they
 * are the outputs of a one-node session (zeros-graph.ts) asked to leave its outputs on the GPU. Fed to the
 * decoder as pasts and as pre-allocated presents, they are written in place and never cross to the host.
 * Not exercised by the test suite, which runs on the CPU provider only; run on an H200 (models/README.md,
 * "Execution providers").
 */
export class GpuKvBuffers {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(type: ZerosType): Promise<GpuKvBuffers> {
    const session = await ort.InferenceSession.create(zerosGraph(type), {
      executionProviders: ['webgpu'],
      preferredOutputLocation: 'gpu-buffer',
      logSeverityLevel: 3,
    });
    return new GpuKvBuffers(session);
  }

  async zeros(dims: readonly number[]): Promise<ort.Tensor> {
    const shape = new ort.Tensor('int64', BigInt64Array.from(dims, (d) => BigInt(d)), [dims.length]);
    const out = await this.session.run({ shape });
    return out.zeros!;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
