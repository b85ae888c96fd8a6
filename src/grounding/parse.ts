import type { Entity } from './types.ts';
import { BOX_TOKEN_SOURCE, normalizeGridBox } from './box-token.ts';
import { visibleText } from './visible-text.ts';

/** A phrase `<p>…</p>`, a box `{<x1><y1><x2><y2>}` or a `<delim>`, in the order the model wrote them. */
const GROUP_PART = new RegExp(String.raw`<p>([\s\S]*?)<\/p>|${BOX_TOKEN_SOURCE}|<delim>`, 'g');

type Part = 'phrase' | 'box' | 'delim';

export interface ParsedAnswer {
  /** The answer for people: box tokens, `<p>`, `</p>` and `<delim>` removed, whitespace tidied. */
  text: string;
  /** Grounded phrases in answer order, boxes on the 100-grid. A bare box (a [refer] answer) has phrase ''. */
  entities: Entity[];
}

/**
 * Reads the model's box language. A box right after `<p>phrase</p>` (only whitespace between) belongs to that
 * phrase; boxes joined by `<delim>` belong to the same entity; a box standing alone gets phrase ''. Anything
 * unfinished at the end (a stream cut mid-group, or max tokens reached) is dropped, as is a phrase with no box.
 */
export function parseAnswer(raw: string): ParsedAnswer {
  const entities: Entity[] = [];
  let current: Entity | undefined;
  let pendingPhrase: string | undefined;
  let previous: Part | undefined;
  let end = 0;
  for (const m of raw.matchAll(GROUP_PART)) {
    const adjacent = raw.slice(end, m.index).trim() === '';
    if (!adjacent) previous = undefined;
    end = m.index + m[0].length;
    if (m[1] !== undefined) {
      pendingPhrase = m[1].replace(/\s+/g, ' ').trim();
      previous = 'phrase';
    } else if (m[2] !== undefined) {
      const continues = (previous === 'box' || previous === 'delim') && current !== undefined;
      if (!continues) {
        current = { phrase: previous === 'phrase' ? (pendingPhrase ?? '') : '', boxes: [] };
        entities.push(current);
      }
      current!.boxes.push(normalizeGridBox(m.slice(2, 6).map(Number)));
      previous = 'box';
    } else {
      previous = previous === 'box' ? 'delim' : undefined;
    }
  }
  return { text: visibleText(raw), entities };
}
