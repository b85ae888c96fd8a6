/**
 * The longest text a user may type into one request, in characters: Discord's string options and modal inputs
 * declare it as `max_length`, and mentions, DMs and Slack text over it are refused with this reason. A question
 * of this length is a few hundred tokens, well inside the model's context beside the image.
 */
export const TEXT_MAX_CHARS = 1000;

/** The refusal for text over the limit, or undefined when it fits. */
export function textTooLong(text: string): string | undefined {
  const length = [...text].length;
  if (length <= TEXT_MAX_CHARS) return undefined;
  return `Your message is ${length} characters long; the limit is ${TEXT_MAX_CHARS}. Please shorten it.`;
}
