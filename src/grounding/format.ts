import type { Box } from './types.ts';
import { normalizeGridBox } from './box-token.ts';

/** Writes a 100-grid box as the model reads it, e.g. for `[identify] what is this {<10><20><30><40>}`. */
export function formatBox(gridBox: Box): string {
  const [x1, y1, x2, y2] = normalizeGridBox(gridBox.map(Math.round));
  return `{<${x1}><${y1}><${x2}><${y2}>}`;
}

/** The identify task's question about a 100-grid box, as the paper's demo and evaluation phrase it. */
export function identifyQuestion(gridBox: Box): string {
  return `what is this ${formatBox(gridBox)}`;
}
