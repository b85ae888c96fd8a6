/** Discord's limit on a message's content. */
export const MESSAGE_LIMIT = 2000;

const FENCE = /^\s*(`{3,}|~{3,})/;

/** Cuts one over-long line at the last space before the limit, or hard at the limit when there is none. */
function cutLine(line: string, limit: number): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (rest.length > limit) {
    const space = rest.lastIndexOf(' ', limit);
    const at = space > limit / 2 ? space : limit;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^ /, '');
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Splits text into messages of at most `limit` characters at safe places: between paragraphs or lines, else
 * between words. A code block that must be cut is closed at the end of one message and reopened (same fence and
 * language) at the start of the next, so no message ever ends inside an open fence.
 */
export function splitMessage(text: string, limit = MESSAGE_LIMIT): string[] {
  if (text.length <= limit) return [text];
  const chunks: string[] = [];
  let current: string[] = [];
  let length = 0;
  let openFence: string | null = null;
  // Room kept for the closing fence line a cut inside a block needs.
  const reserve = 8;

  const flush = (): void => {
    if (current.length === 0) return;
    const body = current.join('\n');
    chunks.push(openFence ? `${body}\n${openFence.trim().match(FENCE)?.[1] ?? '```'}` : body);
    current = openFence ? [openFence] : [];
    length = openFence ? openFence.length : 0;
  };

  for (const line of text.split('\n')) {
    const budget = limit - reserve - (openFence ? openFence.length + 1 : 0);
    for (const piece of cutLine(line, budget)) {
      const added = (current.length > 0 ? 1 : 0) + piece.length;
      if (length + added > limit - reserve) flush();
      current.push(piece);
      length += (current.length > 1 ? 1 : 0) + piece.length;
    }
    const fence = line.match(FENCE);
    if (fence) openFence = openFence ? null : line;
  }
  if (current.length > 0) chunks.push(current.join('\n'));
  return chunks.filter((chunk) => chunk.trim().length > 0);
}
