import type { ModelSessions } from '../sessions.ts';
import { tokenEmbedsOf, tokenFeeds } from './graph-io.ts';

/** Token ids → embeddings [count, D], through embed_tokens.onnx (the same graph in every decoder layout). */
export async function embedTokens(sessions: ModelSessions, ids: readonly number[]): Promise<Float32Array> {
  return tokenEmbedsOf(await sessions.run('embedTokens', tokenFeeds(ids)));
}
