import { describe, expect, it } from 'vitest';
import { parseBoxRef } from '../src/grounding/box-ref.ts';
import { message } from '../src/bot/messages.ts';
import { entitiesToPixels } from '../src/grounding/scale.ts';
import type { Entity } from '../src/grounding/types.ts';

const size = { width: 640, height: 480 };
const last: Entity[] = [
  { phrase: 'circles', boxes: [[10, 10, 50, 50], [100, 10, 150, 60]] },
  { phrase: 'star', boxes: [[200, 200, 300, 300]] },
];

describe('parseBoxRef', () => {
  it.each([
    ['10,20,30,40', [10, 20, 30, 40]],
    [' 10, 20 ,30 , 40 ', [10, 20, 30, 40]],
    ['[10, 20, 30, 40]', [10, 20, 30, 40]],
    ['(10 20 30 40)', [10, 20, 30, 40]],
    ['30,40,10,20', [10, 20, 30, 40]],
    ['0,0,640,480', [0, 0, 640, 480]],
    ['10.5,20,30,40', [10.5, 20, 30, 40]],
    ['10%,20%,30%,40%', [64, 96, 192, 192]],
    ['#1', [10, 10, 50, 50]],
    ['#2', [100, 10, 150, 60]],
    ['# 3', [200, 200, 300, 300]],
  ])('GIVEN %j THEN the pixel box is %j', (input, box) => {
    expect(parseBoxRef(input, size, last)).toMatchObject({ ok: true, value: { pixels: box } });
  });

  it('GIVEN a typed pixel box THEN its grid cell is the one the paper labels it with, rounding down', () => {
    expect(parseBoxRef('198,158,365,341', size)).toEqual({
      ok: true,
      value: { pixels: [198, 158, 365, 341], grid: [30, 32, 57, 71] },
    });
  });

  it('GIVEN #1 of an answer THEN the grid cell is the one the model answered, not one off from its pixel copy', () => {
    // The model's {<31><33><57><71>} on 640×480 is shown as whole pixels 198,158,365,341; rounding those down
    // would ask about {<30><32><57><71>}.
    const answered = entitiesToPixels([{ phrase: 'star', boxes: [[31, 33, 57, 71]] }], size);
    expect(answered[0]!.boxes[0]).toEqual([198, 158, 365, 341]);
    expect(parseBoxRef('#1', size, answered)).toEqual({
      ok: true,
      value: { pixels: [198, 158, 365, 341], grid: [31, 33, 57, 71] },
    });
  });

  it.each([
    ['', 'box-missing', /No box given/],
    ['10,20,30', 'box-format', /x1,y1,x2,y2/],
    ['a,b,c,d', 'box-format', /could not read "a,b,c,d"/],
    ['-1,0,10,10', 'box-format', /x1,y1,x2,y2/],
    ['10%,20,30%,40', 'box-mixed-units', /not a mix/],
    ['10,10,700,50', 'box-outside', /640×480/],
    ['10%,10%,120%,50%', 'box-outside', /past the image/],
    ['10,10,10,50', 'box-empty', /no area/],
    ['#4', 'box-number-unknown', /no box #4: the last answer has #1–#3/],
    ['#0', 'box-number-unknown', /no box #0/],
  ])('GIVEN %j THEN it is refused as %s with a short explanation', (input, error, pattern) => {
    const result = parseBoxRef(input, size, last);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toBe(error);
      const text = message(result.error, result.context);
      expect(text).toMatch(pattern);
      expect(text.length).toBeLessThan(160);
    }
  });

  it('GIVEN #1 and no earlier answer with boxes THEN the user is told there are none yet', () => {
    expect(parseBoxRef('#1', size, [])).toMatchObject({ ok: false, error: 'no-boxes-yet' });
  });
});
