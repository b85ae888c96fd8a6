import { describe, expect, it } from 'vitest';
import { characters, type MessageLimit, splitMessage as split, utf8Bytes } from '../adapters/kit/split.ts';

const MESSAGE_LIMIT = 2000;
const DISCORD: MessageLimit = { limit: MESSAGE_LIMIT, measure: characters };
const splitMessage = (text: string) => split(text, DISCORD);

const fencesBalanced = (part: string): boolean => (part.match(/^\s*```/gm) ?? []).length % 2 === 0;

describe('splitting long replies by characters (Discord)', () => {
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

describe('splitting long replies by UTF-8 bytes (Slack)', () => {
  const SLACK: MessageLimit = { limit: 3500, measure: utf8Bytes };

  it('keeps every message under the byte limit and loses no text', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i}: ünïcödé words that go on`).join('\n');
    const parts = split(text, SLACK);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(3500);
    expect(parts.join('\n')).toBe(text);
  });

  it('cuts a line of multi-byte characters between characters, never inside one', () => {
    const text = 'ü'.repeat(3000);
    const parts = split(text, SLACK);
    expect(parts).toHaveLength(2);
    for (const part of parts) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(3500);
    expect(parts.join('')).toBe(text);
  });

  it('closes a code block cut in two and reopens it in the next message', () => {
    const code = `\`\`\`\n${'x = 1\n'.repeat(1000)}\`\`\``;
    const parts = split(code, { limit: 500, measure: utf8Bytes });
    expect(parts.length).toBeGreaterThan(10);
    for (const part of parts) {
      expect(Buffer.byteLength(part)).toBeLessThanOrEqual(500);
      expect(part.split('```').length % 2).toBe(1);
    }
  });

  it('leaves short text alone', () => {
    expect(split('a short answer', SLACK)).toEqual(['a short answer']);
  });
});
