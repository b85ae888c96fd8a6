import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Field paths that may hold a secret. Secrets are never passed to the logger on purpose; this is the net under
 * that rule, so a config object logged by mistake shows `[redacted]` instead of a token.
 */
const SECRET_PATHS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  'headers.authorization',
  '*.headers.authorization',
];

/** JSON lines on stderr, so a console chat on stdout stays readable and scripts can still parse the log. */
export function createLog(level: string = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino({ level, base: { app: 'minigpt-bot' }, redact: { paths: SECRET_PATHS, censor: '[redacted]' } }, destination);
}
