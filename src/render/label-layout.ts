/** An axis-aligned rectangle in whole pixels: left, top, width, height. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export const overlaps = (a: Rect, b: Rect): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/** One pixel between a label and its box line, so the line reads as a line (and can be told from the label). */
const LABEL_GAP = 1;

/**
 * Where a label of `size` goes. In order of preference: just above the drawn box (`outline`, line included) at
 * its left edge; inside the box under its top-left corner; just below the box. The first of these that stays in
 * the image and covers no other label (`placed`) and no box line (`lines`, its own box's included) wins; failing
 * those, the nearest free spot above or below the first choice, then sideways. Covering a line is allowed when
 * nothing else is free; covering a label only when the image has no free spot at all.
 */
export function placeLabel(
  size: { w: number; h: number },
  outline: Rect,
  lineWidth: number,
  image: { width: number; height: number },
  placed: readonly Rect[],
  lines: readonly Rect[] = [],
): Rect {
  const inImage = (x: number, y: number): Rect =>
    ({ x: clamp(x, 0, Math.max(0, image.width - size.w)), y: clamp(y, 0, Math.max(0, image.height - size.h)), ...size });
  const inset = lineWidth + LABEL_GAP;
  const aboveY = outline.y - size.h - LABEL_GAP;
  const belowY = outline.y + outline.h + LABEL_GAP;
  const first = aboveY >= 0 ? inImage(outline.x, aboveY) : inImage(outline.x + inset, outline.y + inset);
  const preferred = [first, inImage(outline.x + inset, outline.y + inset)];
  if (belowY + size.h <= image.height) preferred.push(inImage(outline.x, belowY));
  for (const obstacles of [[...placed, ...lines], placed]) {
    const free = (r: Rect): boolean => !obstacles.some((o) => overlaps(o, r));
    const byDistance = (candidates: Rect[]) =>
      candidates.sort((a, b) => Math.abs(a.x - first.x) + Math.abs(a.y - first.y) - Math.abs(b.x - first.x) - Math.abs(b.y - first.y));
    const vertical = obstacles.flatMap((o) => [inImage(first.x, o.y + o.h + LABEL_GAP), inImage(first.x, o.y - size.h - LABEL_GAP)]);
    const sideways = obstacles.flatMap((o) => [inImage(o.x + o.w + LABEL_GAP, first.y), inImage(o.x - size.w - LABEL_GAP, first.y)]);
    const found = [...preferred, ...byDistance(vertical), ...byDistance(sideways)].find(free);
    if (found) return found;
  }
  return first;
}
