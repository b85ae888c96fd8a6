import type { Box } from './types.ts';

/** One complete box token `{<x1><y1><x2><y2>}` (whitespace tolerated between the parts), four capture groups. */
export const BOX_TOKEN_SOURCE = String.raw`\{\s*<(\d+)>\s*<(\d+)>\s*<(\d+)>\s*<(\d+)>\s*\}`;

const GRID_MAX = 100;

const clampToGrid = (v: number): number => Math.min(GRID_MAX, Math.max(0, v));

/**
 * A box on the 100-grid from the four numbers of a token. The model may write values past 100: they are clamped
 * to 0..100. Corners given in the wrong order (x1 > x2 or y1 > y2) are swapped so that x1 ≤ x2 and y1 ≤ y2.
 */
export function normalizeGridBox(values: readonly number[]): Box {
  const [a = 0, b = 0, c = 0, d = 0] = values.map(clampToGrid);
  return [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)];
}
