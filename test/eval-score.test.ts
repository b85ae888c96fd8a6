import { describe, expect, it } from 'vitest';
import { iouPlusOne } from '../src/eval/iou.ts';
import {
  matchBoxes, objectsMentioned, scoreCaption, scoreDetection, scoreExact, scoreGrounding, scoreRefer, vocabularyOf,
} from '../src/eval/score.ts';

const size = { width: 200, height: 100 };

describe('iouPlusOne (the paper\'s +1-pixel areas)', () => {
  it.each([
    [[0, 0, 9, 9], [0, 0, 9, 9], 1],
    [[0, 0, 9, 9], [10, 0, 19, 9], 0],
    [[0, 0, 9, 9], [9, 0, 18, 9], 10 / 190],
    [[0, 0, 9, 9], [5, 0, 14, 9], 50 / 150],
  ])('GIVEN %j and %j THEN IoU is %f', (a, b, expected) => {
    expect(iouPlusOne(a as never, b as never)).toBeCloseTo(expected, 10);
  });
});

describe('scoreRefer', () => {
  // Truth [20, 10, 60, 50]; grid {<10><10><30><50>} on 200×100 is [20, 10, 60, 50] in pixels.
  it.each([
    ['{<10><10><30><50>}', true, 'the exact box'],
    [' {<10><10><30><50>} ', true, 'surrounding spaces are trimmed'],
    ['{<12><12><32><52>}', true, 'a close box (IoU > 0.5)'],
    ['{<30><10><50><50>}', false, 'a box half off (IoU ≤ 0.5)'],
    ['the box is {<10><10><30><50>}', false, 'a box that is not at the start'],
    ['{<10><10><30>}', false, 'a broken box'],
    ['', false, 'no answer'],
  ])('GIVEN %j THEN correct is %s (%s)', (raw, correct) => {
    expect(scoreRefer(raw, [20, 10, 60, 50], size)).toBe(correct);
  });
  it('GIVEN IoU exactly 0.5 THEN it is wrong (strictly above 0.5 counts)', () => {
    // On a 100×100 image the grid is the pixels: [0, 0, 9, 9] covers 100 px of the truth's 200.
    expect(iouPlusOne([0, 0, 19, 9], [0, 0, 9, 9])).toBe(0.5);
    expect(scoreRefer('{<0><0><9><9>}', [0, 0, 19, 9], { width: 100, height: 100 })).toBe(false);
    expect(scoreRefer('{<0><0><10><9>}', [0, 0, 19, 9], { width: 100, height: 100 })).toBe(true);
  });
});

describe('scoreExact', () => {
  it.each([
    ['Red Circle', 'red circle', true],
    ['  red   circle. ', 'red circle', true],
    ['3', '3', true],
    ['a red circle', 'red circle', false],
    ['three', '3', false],
  ])('GIVEN %j vs %j THEN %s', (answer, expected, ok) => {
    expect(scoreExact(answer, expected)).toBe(ok);
  });
});

describe('matchBoxes and scoreDetection', () => {
  const truth: [number, number, number, number][] = [[0, 0, 10, 10], [50, 50, 60, 60], [100, 0, 120, 20]];
  it('GIVEN every instance found once THEN all are true positives', () => {
    expect(matchBoxes([[1, 1, 10, 10], [50, 50, 60, 60], [100, 0, 119, 20]], truth)).toEqual({ tp: 3, fp: 0, fn: 0 });
  });
  it('GIVEN the same instance twice THEN the duplicate is a false positive (one-to-one)', () => {
    expect(matchBoxes([[0, 0, 10, 10], [0, 0, 10, 10]], truth)).toEqual({ tp: 1, fp: 1, fn: 2 });
  });
  it('GIVEN a prediction overlapping two truths THEN it is matched to the better one only', () => {
    expect(matchBoxes([[0, 0, 10, 10]], [[0, 0, 10, 11], [0, 0, 10, 10]])).toEqual({ tp: 1, fp: 0, fn: 1 });
  });
  it('GIVEN entities under several phrases THEN all their boxes count for detection', () => {
    expect(scoreDetection([{ phrase: 'a', boxes: [[0, 0, 10, 10]] }, { phrase: 'b', boxes: [[200, 200, 210, 210]] }], truth)).toEqual({ tp: 1, fp: 1, fn: 2 });
  });
});

describe('scoreGrounding', () => {
  const truth = [{ phrase: 'red circle', box: [0, 0, 10, 10] as [number, number, number, number] }, { phrase: 'blue star', box: [50, 50, 60, 60] as [number, number, number, number] }];
  it('GIVEN right phrases (with articles) and boxes THEN both pairs count', () => {
    expect(scoreGrounding([{ phrase: 'a red circle', boxes: [[0, 0, 10, 10]] }, { phrase: 'A blue star', boxes: [[50, 50, 60, 60]] }], truth)).toEqual({ tp: 2, fp: 0, fn: 0 });
  });
  it('GIVEN a right box under the wrong phrase THEN it is a false positive and the truth is missed', () => {
    expect(scoreGrounding([{ phrase: 'a red circle', boxes: [[50, 50, 60, 60]] }], truth)).toEqual({ tp: 0, fp: 1, fn: 2 });
  });
});

describe('scoreCaption', () => {
  const vocabulary = vocabularyOf(['red circle', 'blue star', 'green square', 'yellow triangle']);
  it('GIVEN a caption naming the objects in another order THEN the multiset matches', () => {
    expect(scoreCaption('A blue star and a red circle.', ['red circle', 'blue star'], vocabulary)).toBe(true);
  });
  it.each([
    ['a red circle.', 'an object missing'],
    ['a red circle, a blue star and a green square.', 'an extra object'],
    ['a red circle and a red circle and a blue star', 'a duplicate'],
    ['a red star and a blue circle', 'colours swapped'],
  ])('GIVEN %j THEN it is wrong (%s)', (caption) => {
    expect(scoreCaption(caption, ['red circle', 'blue star'], vocabulary)).toBe(false);
  });
  it('GIVEN plurals THEN each mention counts once', () => {
    expect(objectsMentioned('two red circles and a yellow triangle', vocabulary)).toEqual(['red circle', 'yellow triangle']);
  });
});
