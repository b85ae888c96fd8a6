import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
/** Compares through digests, so neither the length nor the content leaks through timing. */
const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/**
 * Who calls the API: with keys configured, the key's own name (a short digest, so logs and rate limits never hold
 * the key itself) or undefined when the bearer key is missing or wrong; without keys, everyone is `open`.
 */
export function apiCaller(req: IncomingMessage, keys: readonly string[]): string | undefined {
  if (keys.length === 0) return 'open';
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const given = m?.[1];
  if (!given || !keys.some((k) => same(k, given))) return undefined;
  return `key-${digest(given).toString('hex').slice(0, 12)}`;
}

/** HTTP Basic with any user name and one of the accepted passwords. */
export function pageAllowed(req: IncomingMessage, passwords: readonly string[]): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const password = decoded.slice(decoded.indexOf(':') + 1);
  return passwords.some((p) => same(p, password));
}
