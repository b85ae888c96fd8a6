import { Writable } from 'node:stream';
import { expect, test } from 'vitest';
import { createLog } from '../src/log.ts';

test('GIVEN a config logged by mistake WHEN it holds tokens THEN the log shows them redacted', () => {
  let written = '';
  const sink = new Writable({
    write: (chunk, _enc, done) => {
      written += String(chunk);
      done();
    },
  });
  const log = createLog('info', sink);
  log.info({ discord: { token: 'discord-secret', channels: ['1'] }, slack: { botToken: 'xoxb-secret', signingSecret: 's3' } }, 'config');
  expect(written).not.toMatch(/discord-secret|xoxb-secret|s3"/);
  expect(JSON.parse(written)).toMatchObject({ discord: { token: '[redacted]', channels: ['1'] }, slack: { botToken: '[redacted]' } });
});
