import { describe, expect, it } from 'vitest';
import { MESSAGE_LIMIT, splitMessage } from '../adapters/discord/split.ts';

const fencesBalanced = (part: string): boolean => (part.match(/^\s*```/gm) ?? []).length % 2 === 0;

describe('splitting long replies for Discord', () => {
  it('GIVEN a short reply THEN it stays one message, unchanged', () => {
    expect(splitMessage('Two circles and a square.')).toEqual(['Two circles and a square.']);
  });

  it('GIVEN paragraphs over the limit THEN it cuts between lines and loses no text', () => {
    const lines = Array.from({ length: 90 }, (_, i) => `Line ${i}: the red circle is left of the blue square.`);
    const parts = splitMessage(lines.join('\n'));
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(parts.join('\n')).toBe(lines.join('\n'));
  });

  it('GIVEN a code block longer than a message THEN every message closes the fence it opened and the next reopens it', () => {
    const code = Array.from({ length: 150 }, (_, i) => `  box_${i} = [${i}, ${i + 1}, ${i + 2}, ${i + 3}]`);
    const text = ['Boxes:', '```python', ...code, '```', 'Done.'].join('\n');
    const parts = splitMessage(text);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
      expect(fencesBalanced(part)).toBe(true);
    }
    expect(parts[1]!.startsWith('```python\n')).toBe(true);
    for (const line of code) expect(parts.filter((p) => p.split('\n').includes(line))).toHaveLength(1);
    expect(parts.at(-1)!.endsWith('Done.')).toBe(true);
  });

  it('GIVEN one line longer than a message THEN it cuts between words', () => {
    const words = Array.from({ length: 700 }, (_, i) => `word${i}`);
    const parts = splitMessage(words.join(' '));
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(parts.join(' ').split(' ')).toEqual(words);
  });

  it('GIVEN text with no spaces THEN it still fits, cut at the limit', () => {
    const parts = splitMessage('x'.repeat(4500));
    expect(parts.length).toBe(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(MESSAGE_LIMIT);
    expect(parts.join('')).toBe('x'.repeat(4500));
  });
});
