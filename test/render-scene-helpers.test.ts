import { describe, expect, it } from 'vitest';
import { drawScene, SCENE_COLOURS } from './helpers/scene.ts';
import { decodeRgba } from './helpers/drawn-boxes.ts';

/** The tight box of pixels that differ from the background (the shape itself). */
function pixelExtent(png: Uint8Array, region: [number, number, number, number], background: number[]): [number, number, number, number] {
  const { data, width } = decodeRgba(png);
  let [x1, y1, x2, y2] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let y = region[1]; y < region[3]; y++) for (let x = region[0]; x < region[2]; x++) {
    const i = 4 * (y * width + x);
    if (Math.max(...background.map((b, k) => Math.abs(data[i + k]! - b))) > 2) {
      [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
    }
  }
  return [x1, y1, x2, y2];
}

describe('drawScene', () => {
  it('GIVEN the same seed twice THEN the same scene is drawn', () => {
    expect(Buffer.from(drawScene(9).png).equals(Buffer.from(drawScene(9).png))).toBe(true);
  });

  it.each(Array.from({ length: 20 }, (_, i) => i + 100))('GIVEN seed %i THEN the scene follows the world\'s rules', (seed) => {
    const scene = drawScene(seed);
    expect(scene.width).toBeGreaterThanOrEqual(256);
    expect(scene.width).toBeLessThanOrEqual(640);
    expect(scene.height).toBeGreaterThanOrEqual(256);
    expect(scene.height).toBeLessThanOrEqual(640);
    expect(scene.objects.length).toBeGreaterThanOrEqual(1);
    expect(scene.objects.length).toBeLessThanOrEqual(4);
    scene.background.forEach((c) => {
      expect(c).toBeGreaterThanOrEqual(200);
    });
    const short = Math.min(scene.width, scene.height);
    for (const [i, o] of scene.objects.entries()) {
      const [x1, y1, x2, y2] = o.box;
      expect(x2 - x1).toBe(y2 - y1);
      expect(x2 - x1).toBeGreaterThanOrEqual(0.12 * short - 1);
      expect(x2 - x1).toBeLessThanOrEqual(0.35 * short);
      expect(x1 >= 0 && y1 >= 0 && x2 <= scene.width && y2 <= scene.height).toBe(true);
      o.rgb.forEach((c, k) => {
        expect(Math.abs(c - SCENE_COLOURS[o.colour][k]!)).toBeLessThanOrEqual(20);
      });
      for (const other of scene.objects.slice(i + 1)) {
        const apart = x2 + 4 <= other.box[0] || other.box[2] + 4 <= x1 || y2 + 4 <= other.box[1] || other.box[3] + 4 <= y1;
        expect(apart).toBe(true);
      }
      // The box is tight: the drawn pixels reach each side of it (within antialiasing) and never go past it.
      const margin = 3;
      const region: [number, number, number, number] = [Math.max(0, x1 - margin), Math.max(0, y1 - margin), Math.min(scene.width, x2 + margin), Math.min(scene.height, y2 + margin)];
      const extent = pixelExtent(scene.png, region, scene.background);
      extent.forEach((v, k) => {
        expect(Math.abs(v - o.box[k]!), `${o.shape} side ${k}`).toBeLessThanOrEqual(1);
      });
    }
  });

  it('GIVEN an explicit spec THEN objects are drawn exactly there in their base colours', () => {
    const scene = drawScene({ width: 300, height: 256, background: [250, 250, 250], objects: [{ colour: 'orange', shape: 'square', box: [10, 20, 60, 70] }] });
    const { data, width } = decodeRgba(scene.png);
    const at = (x: number, y: number) => Array.from(data.slice(4 * (y * width + x), 4 * (y * width + x) + 3));
    expect(at(35, 45)).toEqual([245, 140, 30]);
    expect(at(9, 45)).toEqual([250, 250, 250]);
    expect(pixelExtent(scene.png, [0, 0, 300, 256], [250, 250, 250])).toEqual([10, 20, 60, 70]);
  });
});
