import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../src/grounding/parse.ts';

type Case = [given: string, raw: string, text: string, entities: { phrase: string; boxes: number[][] }[]];

const cases: Case[] = [
  ['a bare [refer] box', '{<10><20><30><40>}', '', [{ phrase: '', boxes: [[10, 20, 30, 40]] }]],
  ['a bare box with spaces inside', '{ <10> <20> <30> <40> }', '', [{ phrase: '', boxes: [[10, 20, 30, 40]] }]],
  ['a phrase with one box', '<p>red circle</p> {<1><2><30><40>}', 'red circle', [{ phrase: 'red circle', boxes: [[1, 2, 30, 40]] }]],
  ['the paper\'s sofas example joined by <delim>', '<p>sofas</p> {<1><52><38><90>}<delim>{<60><50><99><92>}', 'sofas',
    [{ phrase: 'sofas', boxes: [[1, 52, 38, 90], [60, 50, 99, 92]] }]],
  ['a phrase glued to its box', '<p>star</p>{<5><5><9><9>}', 'star', [{ phrase: 'star', boxes: [[5, 5, 9, 9]] }]],
  ['inline groups in a grounded caption',
    'There is <p>a red circle</p> {<10><10><30><30>} next to <p>a blue square</p> {<50><60><70><80>}.',
    'There is a red circle next to a blue square.',
    [{ phrase: 'a red circle', boxes: [[10, 10, 30, 30]] }, { phrase: 'a blue square', boxes: [[50, 60, 70, 80]] }]],
  ['several phrase groups in a detection list', '<p>circle</p> {<1><1><9><9>}<delim><p>square</p> {<20><20><29><29>}', 'circle square',
    [{ phrase: 'circle', boxes: [[1, 1, 9, 9]] }, { phrase: 'square', boxes: [[20, 20, 29, 29]] }]],
  ['an unfinished trailing box', '<p>sofas</p> {<1><52><38><90>}<delim>{<60><50>', 'sofas', [{ phrase: 'sofas', boxes: [[1, 52, 38, 90]] }]],
  ['an unfinished trailing phrase', 'a <p>red circle</p> {<1><2><3><4>} and <p>a blu', 'a red circle and a blu',
    [{ phrase: 'red circle', boxes: [[1, 2, 3, 4]] }]],
  ['a phrase whose box never came', 'I see <p>a cat</p>', 'I see a cat', []],
  ['a cut tag at the end', 'a dog <deli', 'a dog', []],
  ['values past 100 are clamped', '{<10><20><130><400>}', '', [{ phrase: '', boxes: [[10, 20, 100, 100]] }]],
  ['corners in the wrong order are swapped', '{<80><90><10><20>}', '', [{ phrase: '', boxes: [[10, 20, 80, 90]] }]],
  ['a box standing in free text', 'it is here {<1><2><3><4>} I think', 'it is here I think', [{ phrase: '', boxes: [[1, 2, 3, 4]] }]],
  ['text between a phrase and a box does not bind them', '<p>cat</p> near {<1><2><3><4>}', 'cat near',
    [{ phrase: '', boxes: [[1, 2, 3, 4]] }]],
  ['plain text', '  red   circle \n', 'red circle', []],
  ['a box missing a number is not a box', '{<1><2><3>}', '{<1><2><3>}', []],
  ['empty answer', '', '', []],
];

describe('parseAnswer', () => {
  it.each(cases)('GIVEN %s THEN text and entities are read as the model meant', (_given, raw, text, entities) => {
    expect(parseAnswer(raw)).toEqual({ text, entities });
  });
});

describe('parseAnswer on a streamed answer', () => {
  const full = 'There is <p>a red circle</p> {<10><10><30><30>} and <p>stars</p> {<50><60><70><80>}<delim>{<80><5><95><20>}.';
  it('GIVEN every prefix of an answer as it streams THEN no token fragment shows and boxes only ever grow', () => {
    const finalBoxes = parseAnswer(full).entities.flatMap((e) => e.boxes);
    for (let n = 0; n <= full.length; n++) {
      const { text, entities } = parseAnswer(full.slice(0, n));
      expect(text, full.slice(0, n)).not.toMatch(/[{}<>]/);
      const boxes = entities.flatMap((e) => e.boxes);
      expect(boxes).toEqual(finalBoxes.slice(0, boxes.length));
    }
  });
});
