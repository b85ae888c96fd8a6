import type { Entity } from '../grounding/types.ts';
import { numberBoxes } from '../grounding/numbering.ts';
import { colourFor } from './palette.ts';

/**
 * The answer for people, matching the drawn image: the text, then one line per numbered box with the colour it
 * is drawn in and its pixel box, e.g. `#1 red circle — red box at (10, 20)–(110, 120)`.
 */
export function describeAnswer(text: string, entities: readonly Entity[]): string {
  const lines = numberBoxes(entities).map(({ number, entityIndex, phrase, box }) => {
    const [x1, y1, x2, y2] = box.map(Math.round);
    const label = phrase ? `#${number} ${phrase}` : `#${number}`;
    return `${label} — ${colourFor(entityIndex).name} box at (${x1}, ${y1})–(${x2}, ${y2})`;
  });
  return [text.trim(), ...lines].filter(Boolean).join('\n');
}
