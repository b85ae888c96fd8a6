import type { InputImage } from '../../src/bot/types.ts';
import { message } from '../../src/bot/messages.ts';
import { cappedFetch } from '../kit/fetch.ts';
import type { AttachmentRef } from './types.ts';

/** Hosts Discord serves attachments from; a configured API URL adds its own host (a local Discord). */
const DISCORD_CDN_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];

export type Download = { ok: true; image: InputImage } | { ok: false; text: string };

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  /** Extra allowed host name, from DISCORD_API_URL: a local Discord may serve files from another port. */
  extraHostname?: string;
}

const megabytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

function looksLikeImage(ref: AttachmentRef): boolean {
  if (ref.contentType) return ref.contentType.startsWith('image/');
  return /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i.test(ref.name);
}

/** Checks what Discord says about an attachment, so an obvious refusal needs no download. */
export function precheck(ref: AttachmentRef, limits: DownloadLimits): { ok: true } | { ok: false; text: string } {
  if (!looksLikeImage(ref)) return { ok: false, text: message('not-an-image', { name: ref.name }) };
  if (ref.size > limits.maxBytes) {
    return { ok: false, text: message('image-too-large', { size: megabytes(ref.size), limit: megabytes(limits.maxBytes) }) };
  }
  return { ok: true };
}

function allowedUrl(url: URL, extraHostname: string | undefined): boolean {
  if (extraHostname !== undefined && url.hostname === extraHostname) return true;
  return url.protocol === 'https:' && DISCORD_CDN_HOSTS.includes(url.hostname);
}

/**
 * Downloads an attachment from the URL Discord gave (never from text a user typed), on Discord's hosts at every
 * redirect hop, stopping at the size cap and the timeout, so a huge or slow file cannot tie up the bot.
 */
export async function downloadAttachment(ref: AttachmentRef, limits: DownloadLimits): Promise<Download> {
  const checked = precheck(ref, limits);
  if (!checked.ok) return checked;
  const fetched = await cappedFetch(ref.url, {
    allowed: (url) => allowedUrl(url, limits.extraHostname),
    maxBytes: limits.maxBytes,
    timeoutMs: limits.timeoutMs,
    accepts: (type) => type.startsWith('image/'),
  });
  if (fetched.ok) {
    const contentType = fetched.contentType ?? ref.contentType ?? undefined;
    return { ok: true, image: { bytes: fetched.bytes, name: ref.name, contentType } };
  }
  if (fetched.reason === 'wrong-type') return { ok: false, text: message('not-an-image', { name: ref.name }) };
  if (fetched.reason === 'too-large') {
    const limit = megabytes(limits.maxBytes);
    return { ok: false, text: message('image-too-large', { size: `over ${limit}`, limit }) };
  }
  return { ok: false, text: `I could not download ${ref.name} from Discord; please try again.` };
}
