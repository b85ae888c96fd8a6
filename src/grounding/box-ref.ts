import type { Box, Entity, ImageSize, Result } from './types.ts';
import { numberBoxes } from './numbering.ts';

export type BoxRefError =
  | 'box-missing'
  | 'box-format'
  | 'box-mixed-units'
  | 'box-outside'
  | 'box-empty'
  | 'no-boxes-yet'
  | 'box-number-unknown';

const HOW_TO = 'Give a box as x1,y1,x2,y2 in pixels, as percentages like 10%,20%,30%,40%, or as #2 from the last answer.';
const NUMBER_REF = /^#\s*(\d+)$/;
const COORD = /^(\d+(?:\.\d+)?)(%?)$/;

const fail = (error: BoxRefError, message: string): Result<Box, BoxRefError> => ({ ok: false, error, message });

/**
 * A box the user points at, in pixels of the image: `x1,y1,x2,y2` (spaces or brackets are fine), percentages of the
 * width/height `10%,20%,30%,40%`, or `#2` = the second numbered box of the last answer (`lastEntities`, pixels).
 * Corners in the wrong order are swapped; a box past the image or with no area is refused with an explanation.
 */
export function parseBoxRef(input: string, size: ImageSize, lastEntities: readonly Entity[] = []): Result<Box, BoxRefError> {
  const text = input.trim();
  if (text === '') return fail('box-missing', `No box given. ${HOW_TO}`);
  const ref = NUMBER_REF.exec(text);
  if (ref) return boxByNumber(Number(ref[1]), lastEntities);
  const parts = text.replace(/[[\](){}]/g, ' ').split(/[\s,;]+/).filter(Boolean).map((p) => COORD.exec(p));
  if (parts.length !== 4 || parts.some((p) => p === null)) return fail('box-format', `I could not read "${text}" as a box. ${HOW_TO}`);
  const percents = parts.filter((p) => p![2] === '%').length;
  if (percents !== 0 && percents !== 4) return fail('box-mixed-units', 'Use pixels for all four numbers or percentages for all four, not a mix.');
  const values = parts.map((p) => Number(p![1]));
  const [x1, y1, x2, y2] = percents === 4
    ? values.map((v, i) => (v / 100) * (i % 2 === 0 ? size.width : size.height))
    : values;
  const box: Box = [Math.min(x1!, x2!), Math.min(y1!, y2!), Math.max(x1!, x2!), Math.max(y1!, y2!)];
  if (box[2] > size.width || box[3] > size.height) {
    return fail('box-outside', `The box ${text} goes past the image, which is ${size.width}×${size.height} pixels.`);
  }
  if (box[0] === box[2] || box[1] === box[3]) return fail('box-empty', 'That box has no area: x1 must differ from x2 and y1 from y2.');
  return { ok: true, value: box };
}

function boxByNumber(n: number, lastEntities: readonly Entity[]): Result<Box, BoxRefError> {
  const numbered = numberBoxes(lastEntities);
  if (numbered.length === 0) return fail('no-boxes-yet', `There are no numbered boxes yet. ${HOW_TO}`);
  const found = numbered.find((b) => b.number === n);
  if (!found) {
    const range = numbered.length === 1 ? '#1' : `#1–#${numbered.length}`;
    return fail('box-number-unknown', `There is no box #${n}: the last answer has ${range}.`);
  }
  return { ok: true, value: [...found.box] as Box };
}
