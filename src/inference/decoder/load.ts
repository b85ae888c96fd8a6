import type { ModelInfo } from '../model-config.ts';
import type { ModelSessions } from '../sessions.ts';
import type { DecoderDriver } from './driver.ts';
import { decoderLayout } from './graph-io.ts';
import { PlainDecoder } from './plain.ts';
import { WebGpuDecoder } from './webgpu.ts';

/** The driver for the decoder layout the model directory has; chosen once, when the model loads. */
export async function loadDecoder(sessions: ModelSessions, model: ModelInfo): Promise<DecoderDriver> {
  return decoderLayout(sessions.inputNames('decoder')) === 'webgpu'
    ? WebGpuDecoder.create(sessions, model)
    : new PlainDecoder(sessions, model);
}
