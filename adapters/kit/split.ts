/** How a platform counts a message's length: Discord in characters, Slack in UTF-8 bytes. */
export type Measure = (text: string) => number;

export const characters: Measure = (text) => text.length;
export const utf8Bytes: Measure = (text) => Buffer.byteLength(text, 'utf8');

export interface MessageLimit {
  limit: number;
  measure: Measure;
}

const FENCE = /^\s*(`{3,}|~{3,})/;
/** Room kept for the closing fence line a cut inside a code block needs. */
const FENCE_RESERVE = 8;

/** Where the longest start of `text` that measures at most `room` ends (never inside a character). */
function fittingEnd(text: string, room: number, measure: Measure): number {
  let end = 0;
  let used = 0;
  for (const ch of text) {
    used += measure(ch);
    if (used > room) break;
    end += ch.length;
  }
  return end;
}

/** Cuts one over-long line at the last space before the limit, or hard at the limit when there is none. */
function cutLine(line: string, room: number, measure: Measure): string[] {
  const pieces: string[] = [];
  let rest = line;
  while (measure(rest) > room) {
    const end = Math.max(1, fittingEnd(rest, room, measure));
    const space = rest.lastIndexOf(' ', end);
    const at = space > end / 2 ? space : end;
    pieces.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^ /, '');
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Splits text into messages that measure at most `limit`, at safe places: between paragraphs or lines, else
 * between words. A code block that must be cut is closed at the end of one message and reopened (same fence and
 * language) at the start of the next, so no message ever ends inside an open fence.
 */
export function splitMessage(text: string, { limit, measure }: MessageLimit): string[] {
  if (measure(text) <= limit) return [text];
  const chunks: string[] = [];
  let current: string[] = [];
  let size = 0;
  let openFence: string | null = null;

  const flush = (): void => {
    if (current.length === 0) return;
    const body = current.join('\n');
    chunks.push(openFence ? `${body}\n${openFence.trim().match(FENCE)?.[1] ?? '```'}` : body);
    current = openFence ? [openFence] : [];
    size = openFence ? measure(openFence) : 0;
  };

  for (const line of text.split('\n')) {
    const room = limit - FENCE_RESERVE - (openFence ? measure(openFence) + 1 : 0);
    for (const piece of cutLine(line, room, measure)) {
      const added = (current.length > 0 ? 1 : 0) + measure(piece);
      if (size + added > limit - FENCE_RESERVE) flush();
      current.push(piece);
      size += (current.length > 1 ? 1 : 0) + measure(piece);
    }
    if (FENCE.test(line)) openFence = openFence ? null : line;
  }
  if (current.length > 0) chunks.push(current.join('\n'));
  return chunks.filter((chunk) => chunk.trim().length > 0);
}
