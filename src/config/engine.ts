import { Engine } from '../inference/engine.ts';
import type { Logger } from '../log.ts';
import type { Config } from './schema.ts';

/**
 * The engine the config describes, for every process that runs one (`npm start`, a Redis worker). `onFailed` is
 * told when it stops answering for good on its own (its thread crashed again and again, or a new one could not
 * load the model): the process should then exit, so that its supervisor starts it again.
 */
export function loadEngine(config: Config, log: Logger, onFailed?: (reason: Error) => void): Promise<Engine> {
  return Engine.load(config.model.dir, {
    device: config.model.device,
    threads: config.model.threads,
    maxBatch: config.model.maxBatch,
    maxConversations: config.model.cachedConversations,
    maxImagePixels: config.limits.imageMegapixels * 1e6,
    warn: (line) => log.warn(line),
    onFailed,
  });
}
