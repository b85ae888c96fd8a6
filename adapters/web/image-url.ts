import type { InputImage } from '../../src/bot/types.ts';

export interface ImageUrlLimits {
  maxBytes: number;
  timeoutMs: number;
  /** Host names http(s) images may come from; data URLs need none. */
  hosts: readonly string[];
}

export type ImageFromUrl = { ok: true; image: InputImage } | { ok: false; message: string };

const DATA_URL = /^data:([\w/.+-]*)((?:;[\w=.+-]+)*),(.*)$/s;
const megabytes = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);
const tooLarge = (limit: number): ImageFromUrl => ({
  ok: false,
  message: `the image is over the ${megabytes(limit)} MB limit`,
});

function fromDataUrl(url: string, limits: ImageUrlLimits): ImageFromUrl {
  const m = DATA_URL.exec(url);
  if (!m) return { ok: false, message: 'the image data URL is malformed' };
  const [, type, params, data] = m as unknown as [string, string, string, string];
  const base64 = params.split(';').includes('base64');
  if ((base64 ? (data.length * 3) / 4 : data.length) > limits.maxBytes * 1.01 + 4) return tooLarge(limits.maxBytes);
  const bytes = base64 ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data), 'latin1');
  if (bytes.byteLength > limits.maxBytes) return tooLarge(limits.maxBytes);
  return { ok: true, image: { bytes, name: 'the image_url', contentType: type || undefined } };
}

/**
 * Downloads an image from a configured host only, stopping at the size cap and the timeout, refusing redirects
 * and anything served as something other than an image: a URL in a request is never fetched from elsewhere.
 */
async function download(url: URL, limits: ImageUrlLimits): Promise<ImageFromUrl> {
  const failed: ImageFromUrl = { ok: false, message: `could not download the image from ${url.host}` };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: 'error' });
    if (!response.ok || !response.body) return failed;
    const contentType = response.headers.get('content-type') ?? '';
    const length = Number(response.headers.get('content-length') ?? 0);
    if (!contentType.startsWith('image/') || length > limits.maxBytes) {
      await response.body.cancel();
      return length > limits.maxBytes
        ? tooLarge(limits.maxBytes)
        : { ok: false, message: `${url.href} is not an image` };
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of response.body) {
      total += chunk.byteLength;
      if (total > limits.maxBytes) return tooLarge(limits.maxBytes);
      chunks.push(chunk);
    }
    return {
      ok: true,
      image: { bytes: Buffer.concat(chunks, total), name: url.pathname.split('/').pop() || 'the image', contentType },
    };
  } catch {
    return failed;
  }
}

/** An `image_url`: a data URL, or an http(s) URL on one of the configured hosts. */
export async function readImageUrl(url: string, limits: ImageUrlLimits): Promise<ImageFromUrl> {
  if (url.startsWith('data:')) return fromDataUrl(url, limits);
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return { ok: false, message: 'image_url must be a data URL or an http(s) URL' };
  }
  if (!limits.hosts.includes(parsed.hostname)) {
    return {
      ok: false,
      message: `images are not fetched from ${parsed.hostname} (web.imageHosts lists the allowed hosts)`,
    };
  }
  return download(parsed, limits);
}
