import { describe, expect, test } from 'vitest';
import { decodeLine } from '../adapters/console/decode.ts';
import { StreamPrinter } from '../adapters/console/encode.ts';
import { createRegistry } from '../src/bot/registry.ts';
import { PLUGINS } from '../plugins/index.ts';

const commands = createRegistry(PLUGINS).commands();

describe('GIVEN a typed line', () => {
  test.each([
    ['/refer the red circle', { kind: 'command', command: 'refer', args: { phrase: 'the red circle' } }],
    ['/identify  10, 20, 30, 40 ', { kind: 'command', command: 'identify', args: { box: '10,20,30,40' } }],
    ['/identify #2 ', { kind: 'command', command: 'identify', args: { box: '#2' } }],
    ['reset', { kind: 'command', command: 'reset', args: {} }],
    ['/CAPTION', { kind: 'command', command: 'caption', args: {} }],
    ['[detect] circles', { kind: 'command', command: 'chat', args: { text: '[detect] circles' } }],
    ['/image ~/my photos/cat.png', { kind: 'image', path: '~/my photos/cat.png' }],
    ['/nope x', { kind: 'command', command: 'nope', args: {} }],
    ['/quit', { kind: 'quit' }],
    ['   ', { kind: 'empty' }],
  ])('WHEN it is %j THEN it becomes the right request', (line, expected) => {
    expect(decodeLine(line, commands)).toEqual(expected);
  });
});

describe('GIVEN streamed text', () => {
  test('WHEN it grows, shrinks for a moment and ends THEN the terminal shows each word once', () => {
    let shown = '';
    const printer = new StreamPrinter((text) => (shown += text));
    for (const update of ['the', 'the red', 'the', 'the red circle']) printer.update(update);
    printer.finish('the red circle\n#1 the red circle — red box at (1, 2)–(3, 4)');
    expect(shown).toBe('the red circle\n#1 the red circle — red box at (1, 2)–(3, 4)\n');
  });

  test('WHEN the final text differs from what streamed THEN it starts on a fresh line', () => {
    let shown = '';
    const printer = new StreamPrinter((text) => (shown += text));
    printer.update('partial');
    printer.finish('#1 — red box at (1, 2)–(3, 4)');
    expect(shown).toBe('partial\n#1 — red box at (1, 2)–(3, 4)\n');
  });
});
