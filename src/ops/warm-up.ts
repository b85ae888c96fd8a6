import sharp from 'sharp';
import type { BotEngine } from '../bot/types.ts';

/** A mid-grey square: the smallest input that runs every graph (vision, embeddings, one decoder step). */
async function greySquare(): Promise<Uint8Array> {
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#808080' } }).png().toBuffer();
  return new Uint8Array(png);
}

/**
 * Asks the loaded model for one token before any user does, so that a model folder whose model.json does not
 * match its graphs fails at start-up (one line, non-zero exit) rather than on every request behind a healthy
 * /healthz. Resolves to the reason when it fails.
 */
export async function warmUp(engine: BotEngine): Promise<string | undefined> {
  const conversation = 'warm-up';
  try {
    const image = await greySquare();
    await engine.generate({
      conversation, image, history: [], task: 'vqa', question: 'what is this?', generation: { maxNewTokens: 1 },
    });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0] : String(error);
  } finally {
    engine.forget(conversation);
  }
}
