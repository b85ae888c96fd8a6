import type { Box } from '../grounding/types.ts';

/**
 * Intersection over union with the +1-pixel convention of the paper's RefCOCO scoring: a box covers
 * (x2 - x1 + 1) × (y2 - y1 + 1) pixels, so touching boxes share a line.
 */
export function iouPlusOne(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]) + 1;
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]) + 1;
  const inter = w > 0 && h > 0 ? w * h : 0;
  const area = (r: Box) => (r[2] - r[0] + 1) * (r[3] - r[1] + 1);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Plain intersection over union of continuous boxes (no +1), for comparing drawn geometry. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const area = (r: Box) => Math.max(0, r[2] - r[0]) * Math.max(0, r[3] - r[1]);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}
