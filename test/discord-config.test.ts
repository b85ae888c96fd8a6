import { describe, expect, it } from 'vitest';
import { parseConfig } from '../adapters/discord/config.ts';

describe('discord settings', () => {
  it('GIVEN a token and a few keys THEN the rest take their defaults', () => {
    const result = parseConfig({ token: 't', apiUrl: 'http://127.0.0.1:9/api', channels: ['123'] });
    expect(result).toMatchObject({ ok: true, config: { token: 't', apiUrl: 'http://127.0.0.1:9/api', channels: ['123'], editIntervalMs: 1500, registerCommands: true } });
  });

  it('GIVEN a misspelt key, a too-fast edit interval or no token THEN the message names the key', () => {
    expect(parseConfig({ token: 't', chanels: [] } as never)).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.chanels: /) });
    expect(parseConfig({ token: 't', editIntervalMs: 200 })).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.editIntervalMs: /) });
    expect(parseConfig({ token: '' })).toMatchObject({ ok: false, message: expect.stringMatching(/^discord\.token: /) });
  });

  it('GIVEN shards THEN a count from 1 or auto is taken, one shard when left out, anything else named', () => {
    expect(parseConfig({ token: 't' })).toMatchObject({ ok: true, config: { shards: 1 } });
    expect(parseConfig({ token: 't', shards: 4 })).toMatchObject({ ok: true, config: { shards: 4 } });
    expect(parseConfig({ token: 't', shards: 'auto' })).toMatchObject({ ok: true, config: { shards: 'auto' } });
    for (const shards of [0, 1.5, 'many']) {
      const refused = { ok: false, message: expect.stringMatching(/^discord\.shards: /) };
      expect(parseConfig({ token: 't', shards } as never)).toMatchObject(refused);
    }
  });
});
