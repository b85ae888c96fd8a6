import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../adapters/discord/config.ts';

describe('discord settings', () => {
  it('GIVEN no DISCORD_TOKEN THEN the adapter stays off', () => {
    expect(configFromEnv({ channels: ['1'] }, {})).toBeNull();
  });

  it('GIVEN a token and an API URL THEN the file section fills the rest, with defaults', () => {
    const result = configFromEnv({ channels: ['123'] }, { DISCORD_TOKEN: 't', DISCORD_API_URL: 'http://127.0.0.1:9/api' });
    expect(result).toMatchObject({ ok: true, config: { token: 't', apiUrl: 'http://127.0.0.1:9/api', channels: ['123'], editIntervalMs: 1500 } });
  });

  it('GIVEN a misspelt key, a too-fast edit interval or a token in the file THEN the message names the key', () => {
    expect(configFromEnv({ chanels: [] }, { DISCORD_TOKEN: 't' })).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.chanels: /) });
    expect(configFromEnv({ editIntervalMs: 200 }, { DISCORD_TOKEN: 't' })).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.editIntervalMs/) });
    expect(configFromEnv({ token: 'x' }, { DISCORD_TOKEN: 't' })).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.token/) });
  });
});
