import { describe, expect, it } from 'vitest';
import { splitTaskTag } from '../src/grounding/task-tag.ts';

describe('splitTaskTag', () => {
  it.each([
    ['[refer] the red circle', 'refer', 'the red circle'],
    ['[identify] what is this {<1><2><3><4>}', 'identify', 'what is this {<1><2><3><4>}'],
    ['[vqa] how many stars?', 'vqa', 'how many stars?'],
    ['[caption] briefly describe this image.', 'caption', 'briefly describe this image.'],
    ['[grounding] describe this image in detail', 'grounding', 'describe this image in detail'],
    ['[detection] circles', 'detection', 'circles'],
    ['[chat] hello', 'chat', 'hello'],
    ['[DETECT] squares', 'detection', 'squares'],
    ['  [ Ground ]  describe', 'grounding', 'describe'],
    ['[REFER]the star', 'refer', 'the star'],
  ])('GIVEN %j THEN the task is %s and the text %j', (input, task, text) => {
    expect(splitTaskTag(input)).toEqual({ task, text });
  });

  it.each([
    ['what colour is it?', 'what colour is it?'],
    ['[unknown] hi', '[unknown] hi'],
    ['tell me about [refer] later', 'tell me about [refer] later'],
    ['', ''],
  ])('GIVEN %j THEN there is no task and the text is kept', (input, text) => {
    expect(splitTaskTag(input)).toEqual({ text });
  });
});
