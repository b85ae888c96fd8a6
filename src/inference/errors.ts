/** The request itself is unusable (bad image, conversation too long): the message is short and safe to show. */
export class InputError extends Error {
  override name = 'InputError';
}
