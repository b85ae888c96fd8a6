/** Slack reads `&`, `<` and `>` as markup; answers, replies and anything echoed must show as written. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Turns Slack's escapes (`&lt;`, `&gt;`, `&amp;`, in message and slash command text) back into what was typed. */
export function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
