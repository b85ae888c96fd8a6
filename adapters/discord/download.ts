import type { InputImage } from '../../src/bot/types.ts';
import { message } from '../../src/bot/messages.ts';
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

function allowedUrl(url: string, extraHostname: string | undefined): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (extraHostname !== undefined && parsed.hostname === extraHostname) return true;
  return parsed.protocol === 'https:' && DISCORD_CDN_HOSTS.includes(parsed.hostname);
}

/**
 * Downloads an attachment from the URL Discord gave (never from text a user typed), stopping at the size cap and
 * the timeout, so a huge or slow file cannot tie up the bot.
 */
export async function downloadAttachment(ref: AttachmentRef, limits: DownloadLimits): Promise<Download> {
  const checked = precheck(ref, limits);
  if (!checked.ok) return checked;
  const failed = { ok: false as const, text: `I could not download ${ref.name} from Discord; please try again.` };
  if (!allowedUrl(ref.url, limits.extraHostname)) return failed;
  try {
    const response = await fetch(ref.url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: 'error' });
    if (!response.ok || !response.body) return failed;
    const contentType = response.headers.get('content-type') ?? ref.contentType ?? undefined;
    if (contentType && !contentType.startsWith('image/')) {
      await response.body.cancel();
      return { ok: false, text: message('not-an-image', { name: ref.name }) };
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > limits.maxBytes) {
        return { ok: false, text: message('image-too-large', { size: `over ${megabytes(limits.maxBytes)}`, limit: megabytes(limits.maxBytes) }) };
      }
      chunks.push(chunk);
    }
    return { ok: true, image: { bytes: Buffer.concat(chunks), name: ref.name, contentType } };
  } catch {
    return failed;
  }
}
