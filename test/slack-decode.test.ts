import { describe, expect, it } from 'vitest';
import { conversationKey, isPersonMessage, pickImageFile, plainText, threadOf } from '../adapters/slack/decode.ts';

describe('reading what a Slack message asks', () => {
  it('drops the bot mention, keeps other mentions and unescapes Slack entities', () => {
    expect(plainText('<@U0BOT> [refer] the  red &amp; blue &lt;thing&gt;', 'U0BOT')).toBe('[refer] the red & blue <thing>');
    expect(plainText('<@U0BOT|minigpt> ask <@U0BOB>', 'U0BOT')).toBe('ask <@U0BOB>');
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
