import { createCanvas, Image } from '@napi-rs/canvas';
import type { Box } from '../../src/grounding/types.ts';
import { strokeSizes } from '../../src/render/draw.ts';

/** Edges shorter than this are label strokes or noise, not a drawn box. */
const MIN_EDGE = 8;
/** Share of each edge that must be in the colour: labels of other boxes may cover part of an edge. */
const MIN_COVER = 0.75;

/** Decodes PNG or JPEG bytes into RGBA pixels (synchronously, so tests can call it inline). */
export function decodeRgba(bytes: Uint8Array): { data: Uint8ClampedArray; width: number; height: number } {
  const image = new Image();
  image.src = Buffer.from(bytes);
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(image, 0, 0);
  return { data: ctx.getImageData(0, 0, image.width, image.height).data, width: image.width, height: image.height };
}

/**
 * The outer rectangle [x1, y1, x2, y2] (x2, y2 exclusive) of the box outline drawn in `rgb`, or null when there is
 * none. Only thin strokes count (at most `lineWidth` + 1 thick, by default annotate's width for this image size),
 * so the filled label in the same colour is not mistaken for a box. When several boxes share the colour, the one
 * with the best-covered edges wins, then the larger.
 */
export function findDrawnBox(bytes: Uint8Array, rgb: readonly [number, number, number], tolerance = 12, lineWidth?: number): Box | null {
  const { mask, width, height } = strokeMask(bytes, rgb, tolerance, lineWidth);
  return bestOutline(mask, width, height);
}

/** Every box outline drawn in `rgb` (an entity with several boxes), best-covered and larger first. */
export function findDrawnBoxes(bytes: Uint8Array, rgb: readonly [number, number, number], tolerance = 12, lineWidth?: number): Box[] {
  const { mask, width, height } = strokeMask(bytes, rgb, tolerance, lineWidth);
  const found: Box[] = [];
  for (let box = bestOutline(mask, width, height); box; box = bestOutline(mask, width, height)) {
    found.push(box);
    // Erase what was found (its lines, as thick as they can be) so the next search sees the others.
    const pad = (lineWidth ?? strokeSizes(width, height).lineWidth) + 1;
    const [x1, y1, x2, y2] = box;
    for (let y = Math.max(0, y1 - pad); y < Math.min(height, y2 + pad); y++) {
      for (let x = Math.max(0, x1 - pad); x < Math.min(width, x2 + pad); x++) {
        const nearEdge = x < x1 + pad || x >= x2 - pad || y < y1 + pad || y >= y2 - pad;
        if (nearEdge) mask[y * width + x] = 0;
      }
    }
  }
  return found;
}

/** Pixels in the colour that belong to thin strokes. */
function strokeMask(bytes: Uint8Array, rgb: readonly [number, number, number], tolerance: number, lineWidth?: number) {
  const { data, width: W, height: H } = decodeRgba(bytes);
  const inColour = new Uint8Array(W * H);
  for (let i = 0; i < W * H; i++) {
    const close = Math.abs(data[4 * i]! - rgb[0]) <= tolerance && Math.abs(data[4 * i + 1]! - rgb[1]) <= tolerance &&
      Math.abs(data[4 * i + 2]! - rgb[2]) <= tolerance;
    inColour[i] = close && data[4 * i + 3]! > 0 ? 1 : 0;
  }
  return { mask: thinStrokes(inColour, W, H, (lineWidth ?? strokeSizes(W, H).lineWidth) + 1), width: W, height: H };
}

/** The rectangle whose four edges are best covered by the mask (at least MIN_COVER each), larger on ties. */
function bestOutline(mask: Uint8Array, W: number, H: number): Box | null {
  const rowSum = new Int32Array((W + 1) * H);
  const colSum = new Int32Array((H + 1) * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const m = mask[y * W + x]!;
      rowSum[y * (W + 1) + x + 1] = rowSum[y * (W + 1) + x]! + m;
      colSum[x * (H + 1) + y + 1] = colSum[x * (H + 1) + y]! + m;
    }
  }
  const rowCover = (y: number, a: number, b: number) => (rowSum[y * (W + 1) + b + 1]! - rowSum[y * (W + 1) + a]!) / (b - a + 1);
  const colCover = (x: number, a: number, b: number) => (colSum[x * (H + 1) + b + 1]! - colSum[x * (H + 1) + a]!) / (b - a + 1);
  const rows = linesWithRun(mask, W, H, true);
  const cols = linesWithRun(mask, W, H, false);
  let best: { box: Box; cover: number; size: number } | null = null;
  for (const top of rows) for (const left of cols) for (const right of cols) {
    if (right - left < MIN_EDGE) continue;
    const topCover = rowCover(top, left, right);
    if (topCover < MIN_COVER) continue;
    for (const bottom of rows) {
      if (bottom - top < MIN_EDGE) continue;
      const cover = Math.min(topCover, rowCover(bottom, left, right), colCover(left, top, bottom), colCover(right, top, bottom));
      if (cover < MIN_COVER) continue;
      const size = (right - left) * (bottom - top);
      const better = !best || cover > best.cover + 0.01 || (cover > best.cover - 0.01 && size > best.size);
      if (better) best = { box: [left, top, right + 1, bottom + 1], cover, size };
    }
  }
  return best?.box ?? null;
}

/**
 * Keeps pixels whose horizontal or vertical run is at most `maxThickness`: the lines of a box. A filled label is
 * thick both ways and drops out (the box's corners too, which the coverage threshold allows for).
 */
function thinStrokes(mask: Uint8Array, W: number, H: number, maxThickness: number): Uint8Array {
  const thin = new Uint8Array(W * H);
  const mark = (length: number, index: (i: number) => number) => {
    let start = 0;
    for (let i = 0; i <= length; i++) {
      if (i < length && mask[index(i)]) continue;
      if (i - start <= maxThickness) for (let j = start; j < i; j++) thin[index(j)] = 1;
      start = i + 1;
    }
  };
  for (let y = 0; y < H; y++) mark(W, (x) => y * W + x);
  for (let x = 0; x < W; x++) mark(H, (y) => y * W + x);
  return thin;
}

/** Rows (or columns) holding a run of at least MIN_EDGE pixels in the colour: where box edges can be. */
function linesWithRun(mask: Uint8Array, W: number, H: number, horizontal: boolean): number[] {
  const [lines, along] = horizontal ? [H, W] : [W, H];
  const found: number[] = [];
  for (let l = 0; l < lines; l++) {
    let run = 0;
    for (let i = 0; i < along && run < MIN_EDGE; i++) {
      run = mask[horizontal ? l * W + i : i * W + l] ? run + 1 : 0;
    }
    if (run >= MIN_EDGE) found.push(l);
  }
  return found;
}
