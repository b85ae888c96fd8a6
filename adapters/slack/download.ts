import type { InputImage } from '../../src/bot/types.ts';
import { cappedFetch } from '../kit/fetch.ts';
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

/**
 * Downloads the image a message carries, from its `url_private_download` with the bot token; every redirect
 * hop must stay on Slack. Slack answers a token without `files:read` with its HTML login page and status 200,
 * so an HTML body is told apart.
 */
export async function downloadFile(file: SlackFile, token: string, limits: DownloadLimits): Promise<Download> {
  if (!file.url_private_download) return { ok: false, reason: 'failed' };
  if (file.size !== undefined && file.size > limits.maxBytes) return { ok: false, reason: 'too-large' };
  const fetched = await cappedFetch(file.url_private_download, {
    allowed: (url) => isTrusted(url, limits.trustedOrigins),
    maxBytes: limits.maxBytes,
    timeoutMs: limits.timeoutMs,
    headers: { Authorization: `Bearer ${token}` },
    accepts: (type) => type !== 'text/html',
  });
  if (fetched.ok) {
    const contentType = fetched.contentType ?? file.mimetype;
    return { ok: true, image: { bytes: fetched.bytes, name: file.name, contentType } };
  }
  if (fetched.reason === 'wrong-type') return { ok: false, reason: 'login-page' };
  return { ok: false, reason: fetched.reason, ...(fetched.detail ? { detail: fetched.detail } : {}) };
}
