import { describe, expect, it } from 'vitest';
import { entitiesToPixels, gridToPixels, pixelsToGrid } from '../src/grounding/scale.ts';
import { formatBox } from '../src/grounding/format.ts';
import { parseAnswer } from '../src/grounding/parse.ts';
import { numberBoxes } from '../src/grounding/numbering.ts';

describe('scaling between the 100-grid and pixels', () => {
  it('GIVEN a non-square image THEN x scales by width and y by height (x / 100 * W)', () => {
    expect(gridToPixels([10, 20, 50, 100], { width: 640, height: 256 })).toEqual([64, 51.2, 320, 256]);
  });
  it('GIVEN pixels THEN the grid box is int(c / size * 100) as the paper\'s labels', () => {
    expect(pixelsToGrid([63, 51, 319.9, 256], { width: 640, height: 256 })).toEqual([9, 19, 49, 100]);
  });
  it('GIVEN pixels past the image THEN the grid box stays in 0..100', () => {
    expect(pixelsToGrid([-5, 0, 700, 300], { width: 640, height: 256 })).toEqual([0, 0, 100, 100]);
  });
  it('GIVEN entities THEN entitiesToPixels gives whole pixels and keeps phrases', () => {
    const { entities } = parseAnswer('<p>dog</p> {<33><33><66><67>}');
    expect(entitiesToPixels(entities, { width: 300, height: 301 })).toEqual([{ phrase: 'dog', boxes: [[99, 99, 198, 202]] }]);
  });
});

describe('formatBox', () => {
  it.each([
    [[10, 20, 30, 40], '{<10><20><30><40>}'],
    [[10.4, 19.6, 30, 40], '{<10><20><30><40>}'],
    [[30, 40, 10, 20], '{<10><20><30><40>}'],
    [[-3, 0, 120, 100], '{<0><0><100><100>}'],
  ])('GIVEN %j THEN it writes %s', (box, text) => {
    expect(formatBox(box as [number, number, number, number])).toBe(text);
  });
  it('GIVEN a written box THEN parsing reads the same box back', () => {
    expect(parseAnswer(formatBox([7, 8, 9, 10])).entities[0]!.boxes[0]).toEqual([7, 8, 9, 10]);
  });
});

describe('numberBoxes', () => {
  it('GIVEN two entities with boxes THEN numbering runs over entities, then their boxes', () => {
    const { entities } = parseAnswer('<p>a</p> {<1><1><2><2>}<delim>{<3><3><4><4>} <p>b</p> {<5><5><6><6>}');
    expect(numberBoxes(entities).map((b) => [b.number, b.phrase, b.box[0]])).toEqual([[1, 'a', 1], [2, 'a', 3], [3, 'b', 5]]);
  });
});
