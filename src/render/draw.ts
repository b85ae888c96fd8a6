import type { SKRSContext2D } from '@napi-rs/canvas';
import type { Box, Entity } from '../grounding/types.ts';
import { numberBoxes } from '../grounding/numbering.ts';
import { colourFor, css, textColourOn } from './palette.ts';
import { placeLabel, type Rect } from './label-layout.ts';

const MIN_LINE_WIDTH = 2;
const MIN_FONT_SIZE = 12;
const MAX_PHRASE_CHARS = 40;
const FONT_FAMILY = '"DejaVu Sans", "Liberation Sans", Arial, sans-serif';

/** Line and text sizes grow with the image so boxes stay visible on large photos and fit small ones. */
export function strokeSizes(width: number, height: number): { lineWidth: number; fontSize: number } {
  const side = Math.min(width, height);
  return { lineWidth: Math.max(MIN_LINE_WIDTH, Math.round(side / 250)), fontSize: Math.max(MIN_FONT_SIZE, Math.round(side / 32)) };
}

/** The label of one box: its number, then the phrase (shortened when long). */
export function labelText(number: number, phrase: string): string {
  const short = phrase.length > MAX_PHRASE_CHARS ? `${phrase.slice(0, MAX_PHRASE_CHARS - 1)}…` : phrase;
  return `#${number} ${short}`.trim();
}

/**
 * The drawn box, line included: the line is centred on the box edges but moved inward where the edge lies on the
 * image border, so the whole line is visible. Whole pixels, so lines are crisp and exactly the palette colour.
 */
export function outlineRect(box: Box, lineWidth: number, width: number, height: number): Rect {
  const half = Math.floor(lineWidth / 2);
  const at = (v: number, side: number) => Math.max(0, Math.min(side - lineWidth, Math.round(v) - half));
  const [left, top, right, bottom] = [at(box[0], width), at(box[1], height), at(box[2], width), at(box[3], height)];
  return { x: left, y: top, w: right - left + lineWidth, h: bottom - top + lineWidth };
}

/** The four lines of a drawn box: top, bottom, left, right. */
function lineStrips(o: Rect, lineWidth: number): Rect[] {
  return [
    { x: o.x, y: o.y, w: o.w, h: lineWidth },
    { x: o.x, y: o.y + o.h - lineWidth, w: o.w, h: lineWidth },
    { x: o.x, y: o.y, w: lineWidth, h: o.h },
    { x: o.x + o.w - lineWidth, y: o.y, w: lineWidth, h: o.h },
  ];
}

/** Draws every entity's boxes (colour by entity) and then their numbered labels, labels on top. */
export function drawEntities(ctx: SKRSContext2D, entities: readonly Entity[], width: number, height: number): void {
  const { lineWidth, fontSize } = strokeSizes(width, height);
  const padding = Math.max(2, Math.round(fontSize / 5));
  const boxes = numberBoxes(entities).map((b) => ({ ...b, outline: outlineRect(b.box, lineWidth, width, height), colour: colourFor(b.entityIndex) }));
  for (const { outline, colour } of boxes) {
    ctx.fillStyle = css(colour.rgb);
    for (const strip of lineStrips(outline, lineWidth)) ctx.fillRect(strip.x, strip.y, strip.w, strip.h);
  }
  ctx.font = `${fontSize}px ${FONT_FAMILY}`;
  ctx.textBaseline = 'top';
  const placed: Rect[] = [];
  const lines = boxes.flatMap((b) => lineStrips(b.outline, lineWidth));
  for (const { number, phrase, outline, colour } of boxes) {
    const text = labelText(number, phrase);
    const size = { w: Math.min(width, Math.ceil(ctx.measureText(text).width) + 2 * padding), h: Math.min(height, fontSize + 2 * padding) };
    const rect = placeLabel(size, outline, lineWidth, { width, height }, placed, lines);
    placed.push(rect);
    ctx.fillStyle = css(colour.rgb);
    ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    ctx.fillStyle = textColourOn(colour.rgb);
    ctx.fillText(text, rect.x + padding, rect.y + padding, rect.w - 2 * padding);
  }
}
