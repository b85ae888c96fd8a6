import type { Box, Entity, ImageSize } from './types.ts';

/**
 * 100-grid → pixels of the original image, exactly `x / 100 * W` as the paper's evaluation does (no rounding, so
 * scores match its numbers). The grid is on the squashed model input, so x scales by width and y by height.
 */
export function gridToPixels(box: Box, size: ImageSize): Box {
  const [x1, y1, x2, y2] = box;
  return [(x1 / 100) * size.width, (y1 / 100) * size.height, (x2 / 100) * size.width, (y2 / 100) * size.height];
}

/** Pixels → 100-grid the way the paper's labels were made: `int(c / size * 100)`, kept inside 0..100. */
export function pixelsToGrid(box: Box, size: ImageSize): Box {
  const toGrid = (c: number, side: number): number => Math.min(100, Math.max(0, Math.floor((c / side) * 100)));
  const [x1, y1, x2, y2] = box;
  return [toGrid(x1, size.width), toGrid(y1, size.height), toGrid(x2, size.width), toGrid(y2, size.height)];
}

/** Parsed entities (100-grid) → whole pixels of the original image, for drawing and for people to read. */
export function entitiesToPixels(entities: readonly Entity[], size: ImageSize): Entity[] {
  return entities.map((e) => ({
    phrase: e.phrase,
    boxes: e.boxes.map((b) => gridToPixels(b, size).map(Math.round) as Box),
  }));
}
