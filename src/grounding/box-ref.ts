import type { Box, Entity, ImageSize } from './types.ts';
import { numberBoxes } from './numbering.ts';
import { pixelsToGrid } from './scale.ts';

export type BoxRefError =
  | 'box-missing'
  | 'box-format'
  | 'box-mixed-units'
  | 'box-outside'
  | 'box-empty'
  | 'no-boxes-yet'
  | 'box-number-unknown';

const NUMBER_REF = /^#\s*(\d+)$/;
const COORD = /^(\d+(?:\.\d+)?)(%?)$/;

/** A box the user picked: in pixels of the image, and on the model's 100-grid. */
export interface PickedBox {
  pixels: Box;
  grid: Box;
}

/** A box, or why the input is not one: an identifier and the values its message names (the bot words it). */
export type BoxRef =
  | { ok: true; value: PickedBox }
  | { ok: false; error: BoxRefError; context: Record<string, string | number> };

const fail = (error: BoxRefError, context: Record<string, string | number> = {}): BoxRef => ({
  ok: false,
  error,
  context,
});

/**
 * A box the user points at, in pixels of the image: `x1,y1,x2,y2` (spaces or brackets are fine), percentages of the
 * width/height `10%,20%,30%,40%`, or `#2` = the second numbered box of the last answer (`lastEntities`, pixels).
 * Corners in the wrong order are swapped; a box past the image or with no area is refused with an identifier.
 * A typed box goes onto the grid as the paper's labels were made (`pixelsToGrid`); a numbered one goes back to the
 * grid cell the model answered, which its whole-pixel copy rounds to (exact for images of 100 pixels a side or more).
 */
export function parseBoxRef(input: string, size: ImageSize, lastEntities: readonly Entity[] = []): BoxRef {
  const text = input.trim();
  if (text === '') return fail('box-missing');
  const ref = NUMBER_REF.exec(text);
  if (ref) return boxByNumber(Number(ref[1]), size, lastEntities);
  const parts = text.replace(/[[\](){}]/g, ' ').split(/[\s,;]+/).filter(Boolean).map((p) => COORD.exec(p));
  if (parts.length !== 4 || parts.some((p) => p === null)) return fail('box-format', { text });
  const percents = parts.filter((p) => p![2] === '%').length;
  if (percents !== 0 && percents !== 4) return fail('box-mixed-units');
  const values = parts.map((p) => Number(p![1]));
  const [x1, y1, x2, y2] = percents === 4
    ? values.map((v, i) => (v / 100) * (i % 2 === 0 ? size.width : size.height))
    : values;
  const box: Box = [Math.min(x1!, x2!), Math.min(y1!, y2!), Math.max(x1!, x2!), Math.max(y1!, y2!)];
  if (box[2] > size.width || box[3] > size.height) {
    return fail('box-outside', { text, width: size.width, height: size.height });
  }
  if (box[0] === box[2] || box[1] === box[3]) return fail('box-empty');
  return { ok: true, value: { pixels: box, grid: pixelsToGrid(box, size) } };
}

function boxByNumber(n: number, size: ImageSize, lastEntities: readonly Entity[]): BoxRef {
  const numbered = numberBoxes(lastEntities);
  if (numbered.length === 0) return fail('no-boxes-yet');
  const found = numbered.find((b) => b.number === n);
  if (!found) {
    const range = numbered.length === 1 ? '#1' : `#1–#${numbered.length}`;
    return fail('box-number-unknown', { number: n, range });
  }
  const pixels = [...found.box] as Box;
  return { ok: true, value: { pixels, grid: answeredGrid(pixels, size) } };
}

/** The grid box whose whole-pixel copy `pixels` is: the inverse of `entitiesToPixels`' rounding. */
function answeredGrid(pixels: Box, size: ImageSize): Box {
  const toGrid = (c: number, side: number): number => Math.min(100, Math.max(0, Math.round((c / side) * 100)));
  const [x1, y1, x2, y2] = pixels;
  return [toGrid(x1, size.width), toGrid(y1, size.height), toGrid(x2, size.width), toGrid(y2, size.height)];
}
