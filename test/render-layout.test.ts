import { describe, expect, it } from 'vitest';
import { overlaps, placeLabel, type Rect } from '../src/render/label-layout.ts';
import { PALETTE } from '../src/render/palette.ts';
import { describeAnswer } from '../src/render/describe.ts';
import { labelText, strokeSizes } from '../src/render/draw.ts';

const image = { width: 400, height: 300 };
const size = { w: 80, h: 16 };
const inside = (r: Rect) => r.x >= 0 && r.y >= 0 && r.x + r.w <= image.width && r.y + r.h <= image.height;

describe('placeLabel', () => {
  it('GIVEN room above the box THEN the label sits just above its top-left corner', () => {
    expect(placeLabel(size, { x: 50, y: 100, w: 120, h: 80 }, 2, image, [])).toEqual({ x: 50, y: 83, ...size });
  });
  it('GIVEN a box touching the top of a wide-enough box THEN the label goes inside under the top-left corner', () => {
    expect(placeLabel(size, { x: 50, y: 0, w: 120, h: 80 }, 2, image, [])).toEqual({ x: 53, y: 3, ...size });
  });
  it('GIVEN a box at the top too narrow for its label THEN the label goes below the box', () => {
    const outline = { x: 10, y: 0, w: 40, h: 40 };
    const lines = [{ x: 10, y: 0, w: 40, h: 2 }, { x: 10, y: 38, w: 40, h: 2 }, { x: 10, y: 0, w: 2, h: 40 }, { x: 48, y: 0, w: 2, h: 40 }];
    expect(placeLabel(size, outline, 2, image, [], lines)).toEqual({ x: 10, y: 41, ...size });
  });
  it('GIVEN a box at the right edge THEN the label is moved left to stay in the image', () => {
    const r = placeLabel(size, { x: 380, y: 100, w: 20, h: 20 }, 2, image, []);
    expect(inside(r)).toBe(true);
  });
  it('GIVEN many boxes at the same place THEN no two labels overlap and all stay inside', () => {
    const placed: Rect[] = [];
    for (let i = 0; i < 8; i++) placed.push(placeLabel(size, { x: 100 + i * 3, y: 50, w: 60, h: 60 }, 2, image, placed));
    placed.forEach((a, i) => {
      expect(inside(a)).toBe(true);
      placed.slice(i + 1).forEach((b) => {
        expect(overlaps(a, b)).toBe(false);
      });
    });
  });
  it('GIVEN another box line right above THEN the label avoids covering it', () => {
    const line = { x: 0, y: 90, w: 400, h: 2 };
    const r = placeLabel(size, { x: 50, y: 100, w: 120, h: 80 }, 2, image, [], [line]);
    expect(overlaps(r, line)).toBe(false);
  });
});

describe('palette', () => {
  it('GIVEN the 16 colours THEN names are unique and colours clearly distinct', () => {
    expect(PALETTE).toHaveLength(16);
    expect(new Set(PALETTE.map((c) => c.name)).size).toBe(16);
    for (const [i, a] of PALETTE.entries()) {
      for (const b of PALETTE.slice(i + 1)) {
        expect(Math.max(...a.rgb.map((v, k) => Math.abs(v - b.rgb[k]!))), `${a.name} vs ${b.name}`).toBeGreaterThanOrEqual(60);
      }
    }
  });
});

describe('sizes and labels', () => {
  it('GIVEN small and large images THEN lines are at least 2 px and grow with the image', () => {
    expect(strokeSizes(256, 640).lineWidth).toBe(2);
    expect(strokeSizes(4000, 3000).lineWidth).toBe(12);
    expect(strokeSizes(4000, 3000).fontSize).toBeGreaterThan(strokeSizes(256, 256).fontSize);
  });
  it('GIVEN a long phrase THEN the label is numbered and shortened', () => {
    expect(labelText(3, 'red circle')).toBe('#3 red circle');
    expect(labelText(1, '')).toBe('#1');
    expect(labelText(2, 'x'.repeat(100))).toMatch(/^#2 x+…$/);
  });
});

describe('describeAnswer', () => {
  it('GIVEN a grounded answer THEN each box is listed with its number, drawn colour and pixel box', () => {
    const text = describeAnswer('There is a red circle and two stars.', [
      { phrase: 'red circle', boxes: [[10.4, 20, 110, 120]] },
      { phrase: 'stars', boxes: [[200, 10, 240, 50], [300, 10, 340, 50]] },
    ]);
    expect(text).toBe([
      'There is a red circle and two stars.',
      '#1 red circle — red box at (10, 20)–(110, 120)',
      '#2 stars — green box at (200, 10)–(240, 50)',
      '#3 stars — green box at (300, 10)–(340, 50)',
    ].join('\n'));
  });
  it('GIVEN a bare [refer] box and no text THEN only the numbered box line is given', () => {
    expect(describeAnswer('', [{ phrase: '', boxes: [[1, 2, 3, 4]] }])).toBe('#1 — red box at (1, 2)–(3, 4)');
  });
  it('GIVEN no boxes THEN the text is unchanged', () => {
    expect(describeAnswer('three', [])).toBe('three');
  });
});
