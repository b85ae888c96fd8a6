/** Why the engine refuses a request; the bot's messages table words each one for people. */
export type InputProblem =
  | 'image-empty'
  | 'not-an-image'
  | 'image-unreadable'
  | 'image-too-many-pixels'
  | 'conversation-too-long'
  | 'unknown-task'
  /** An engine with a queue of its own (the Redis backend's) already has limits.maxQueue requests waiting. */
  | 'queue-full';

export type InputContext = Record<string, string | number>;

/** The request itself is unusable (bad image, conversation too long): an identifier and the values it names. */
export class InputError extends Error {
  override name = 'InputError';

  constructor(
    readonly problem: InputProblem,
    readonly context: InputContext = {},
  ) {
    const details = Object.entries(context).map(([k, v]) => `${k} ${v}`);
    super(details.length > 0 ? `${problem} (${details.join(', ')})` : problem);
  }
}

/** The core does not hold the image a request names by hash only: the caller must send its bytes. */
export class ImageNeededError extends Error {
  override name = 'ImageNeededError';
}

/** The model folder could not be loaded (missing or damaged files, a provider that fails): a start-up failure. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}
