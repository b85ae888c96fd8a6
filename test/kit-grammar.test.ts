import { describe, expect, it } from 'vitest';
import { argsFromText, parseText } from '../adapters/kit/grammar.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createRegistry } from '../src/bot/registry.ts';

const commands = createRegistry(PLUGINS).commands();
const spec = (name: string) => commands.find((c) => c.name === name);

describe('one grammar for typed text (terminal, Discord mentions, Slack mentions)', () => {
  it('takes free text as chat, and a leading /command or a bare option-less command name as that command', () => {
    expect(parseText(commands, '[detect] cats')).toEqual({ command: 'chat', args: { text: '[detect] cats' } });
    expect(parseText(commands, '/refer the red circle')).toEqual({
      command: 'refer',
      args: { phrase: 'the red circle' },
    });
    expect(parseText(commands, '/REFER the red circle')).toEqual({
      command: 'refer',
      args: { phrase: 'the red circle' },
    });
    expect(parseText(commands, 'reset')).toEqual({ command: 'reset', args: {} });
    expect(parseText(commands, 'help me read this')).toEqual({ command: 'chat', args: { text: 'help me read this' } });
    expect(parseText(commands, '/identify #2')).toEqual({ command: 'identify', args: { box: '#2' } });
  });

  it('names an unknown /command so the framework can say there is none, instead of chatting about it', () => {
    expect(parseText(commands, '/nope x')).toEqual({ command: 'nope', args: {} });
  });

  it('finds a box given as pixels, percentages or #n for commands that take one', () => {
    expect(argsFromText(spec('identify'), '10, 20, 30, 40')).toEqual({ box: '10,20,30,40' });
    expect(argsFromText(spec('identify'), '10%,20%,30%,40%')).toEqual({ box: '10%,20%,30%,40%' });
    expect(argsFromText(spec('identify'), '#2')).toEqual({ box: '#2' });
    expect(argsFromText(spec('vqa'), '1,2,3,4 is this a box?')).toEqual({ question: '1,2,3,4 is this a box?' });
    expect(argsFromText(spec('vqa'), '')).toEqual({});
  });

  it('hands a box it cannot read to the box option, so the user hears what was wrong with it', () => {
    expect(argsFromText(spec('identify'), '1e3,2,3,4')).toEqual({ box: '1e3,2,3,4' });
    expect(argsFromText(spec('identify'), '10,20,30')).toEqual({ box: '10,20,30' });
    expect(argsFromText(spec('identify'), '')).toEqual({});
  });
});
