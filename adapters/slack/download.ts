import type { InputImage } from '../../src/bot/types.ts';
import type { SlackFile } from './types.ts';

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  /** Origins besides Slack's own that may receive the bot token (the configured API URL's). */
  trustedOrigins: readonly string[];
}

export type DownloadFailure = 'untrusted-url' | 'too-large' | 'login-page' | 'timeout' | 'failed';
export type Download = { ok: true; image: InputImage } | { ok: false; reason: DownloadFailure; detail?: string };

/** The bot token goes only to Slack's hosts (or the configured API host), never to a URL from anywhere else. */
function isTrusted(url: URL, trustedOrigins: readonly string[]): boolean {
  const slackHost = url.protocol === 'https:' && (url.hostname === 'slack.com' || url.hostname.endsWith('.slack.com'));
  return slackHost || trustedOrigins.includes(url.origin);
}

/** Reads a body up to `maxBytes`, stopping as soon as it is over. */
async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Downloads the image a message carries, from its `url_private_download` with the bot token. Slack answers a
 * token without `files:read` with its HTML login page and status 200, so the content type is checked.
 */
export async function downloadFile(file: SlackFile, token: string, limits: DownloadLimits): Promise<Download> {
  if (!file.url_private_download || !URL.canParse(file.url_private_download)) return { ok: false, reason: 'failed' };
  const url = new URL(file.url_private_download);
  if (!isTrusted(url, limits.trustedOrigins)) return { ok: false, reason: 'untrusted-url', detail: url.origin };
  if (file.size !== undefined && file.size > limits.maxBytes) return { ok: false, reason: 'too-large' };
  try {
    const response = await fetch(url, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(limits.timeoutMs),
    });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      return { ok: false, reason: 'failed', detail: `HTTP ${response.status}` };
    }
    if (type.startsWith('text/html')) {
      await response.body.cancel();
      return { ok: false, reason: 'login-page' };
    }
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > limits.maxBytes) {
      await response.body.cancel();
      return { ok: false, reason: 'too-large' };
    }
    const bytes = await readCapped(response.body, limits.maxBytes);
    if (!bytes) return { ok: false, reason: 'too-large' };
    const contentType = type.split(';')[0]?.trim() || file.mimetype;
    return { ok: true, image: { bytes, name: file.name, contentType } };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    return timedOut ? { ok: false, reason: 'timeout' } : { ok: false, reason: 'failed', detail: String(error) };
  }
}
