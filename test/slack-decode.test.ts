import { describe, expect, it } from 'vitest';
import { argsFromText, commandFromText, conversationKey, isPersonMessage, pickImageFile, plainText, threadOf } from '../adapters/slack/decode.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createRegistry } from '../src/bot/registry.ts';

const commands = createRegistry(PLUGINS).commands();
const spec = (name: string) => commands.find((c) => c.name === name);

describe('reading what a Slack message asks', () => {
  it('drops the bot mention, keeps other mentions and unescapes Slack entities', () => {
    expect(plainText('<@U0BOT> [refer] the  red &amp; blue &lt;thing&gt;', 'U0BOT')).toBe('[refer] the red & blue <thing>');
    expect(plainText('<@U0BOT|minigpt> ask <@U0BOB>', 'U0BOT')).toBe('ask <@U0BOB>');
  });

  it('takes free text as chat, and a leading /command or a bare option-less command name as that command', () => {
    expect(commandFromText(commands, '[detect] cats')).toEqual({ command: 'chat', args: { text: '[detect] cats' } });
    expect(commandFromText(commands, '/refer the red circle')).toEqual({ command: 'refer', args: { phrase: 'the red circle' } });
    expect(commandFromText(commands, 'reset')).toEqual({ command: 'reset', args: {} });
    expect(commandFromText(commands, 'help me read this')).toEqual({ command: 'chat', args: { text: 'help me read this' } });
    expect(commandFromText(commands, '/nope x')).toEqual({ command: 'chat', args: { text: '/nope x' } });
  });

  it('finds a box given as pixels, percentages or #n for commands that take one', () => {
    expect(argsFromText(spec('identify'), '10, 20, 30, 40')).toEqual({ box: '10,20,30,40' });
    expect(argsFromText(spec('identify'), '10%,20%,30%,40%')).toEqual({ box: '10%,20%,30%,40%' });
    expect(argsFromText(spec('identify'), '#2')).toEqual({ box: '#2' });
    expect(argsFromText(spec('vqa'), '1,2,3,4 is this a box?')).toEqual({ question: '1,2,3,4 is this a box?' });
    expect(argsFromText(spec('vqa'), '')).toEqual({});
  });

  it('keys the conversation by workspace, channel and thread (a top-level message starts its own)', () => {
    expect(threadOf({ ts: '2.0' })).toBe('2.0');
    expect(threadOf({ ts: '2.0', thread_ts: '1.0' })).toBe('1.0');
    expect(conversationKey('T1', 'C1', '1.0')).toEqual({ platform: 'slack', workspace: 'T1', channel: 'C1', thread: '1.0' });
  });

  it('picks the first image among the files and tells a non-image apart from no file', () => {
    const pdf = { id: 'F1', mimetype: 'application/pdf', url_private_download: 'https://files.slack.com/a.pdf' };
    const png = { id: 'F2', mimetype: 'image/png', url_private_download: 'https://files.slack.com/b.png' };
    expect(pickImageFile([pdf, png])).toBe(png);
    expect(pickImageFile([pdf])).toBe('not-an-image');
    expect(pickImageFile(undefined)).toBeUndefined();
  });

  it('answers people, not edits, joins or bots', () => {
    const base = { type: 'message', channel: 'D1', ts: '1.0', user: 'U1' };
    expect(isPersonMessage(base)).toBe(true);
    expect(isPersonMessage({ ...base, subtype: 'file_share' })).toBe(true);
    expect(isPersonMessage({ ...base, subtype: 'message_changed' })).toBe(false);
    expect(isPersonMessage({ ...base, bot_id: 'B1' })).toBe(false);
  });
});
