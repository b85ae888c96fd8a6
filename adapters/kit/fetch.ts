/** Why a capped fetch came back without the file. */
export type FetchFailure = 'untrusted-url' | 'too-large' | 'wrong-type' | 'timeout' | 'failed';

export type Fetched =
  | { ok: true; bytes: Uint8Array; contentType?: string }
  | { ok: false; reason: FetchFailure; detail?: string; contentType?: string };

export interface FetchPolicy {
  /** Whether a URL may be fetched; asked for the first URL and again for every redirect's target. */
  allowed(url: URL): boolean;
  maxBytes: number;
  /** For the whole download, body included. */
  timeoutMs: number;
  /** Sent to every allowed host (a bearer token): never to one the policy refuses. */
  headers?: Record<string, string>;
  /** Whether the served content type is one to read (default: any). */
  accepts?(contentType: string): boolean;
  maxRedirects?: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 3;

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
 * Downloads a file a platform pointed at, within a policy: the host checked on the first URL and on every
 * redirect hop, the size capped by what the server declares and again while reading, the content type checked
 * before the body is read, and one timeout for all of it.
 */
export async function cappedFetch(start: string, policy: FetchPolicy): Promise<Fetched> {
  if (!URL.canParse(start)) return { ok: false, reason: 'failed', detail: 'not a URL' };
  let url = new URL(start);
  const signal = AbortSignal.timeout(policy.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      if (!policy.allowed(url)) return { ok: false, reason: 'untrusted-url', detail: url.origin };
      const response = await fetch(url, { headers: policy.headers, signal, redirect: 'manual' });
      const location = response.headers.get('location');
      if (REDIRECTS.has(response.status) && location) {
        await response.body?.cancel();
        if (hop >= (policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS))
          return { ok: false, reason: 'failed', detail: 'too many redirects' };
        url = new URL(location, url);
        continue;
      }
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        return { ok: false, reason: 'failed', detail: `HTTP ${response.status}` };
      }
      const contentType = response.headers.get('content-type')?.split(';')[0]?.trim() || undefined;
      if (contentType && policy.accepts && !policy.accepts(contentType)) {
        await response.body.cancel();
        return { ok: false, reason: 'wrong-type', contentType };
      }
      if (Number(response.headers.get('content-length') ?? Number.NaN) > policy.maxBytes) {
        await response.body.cancel();
        return { ok: false, reason: 'too-large' };
      }
      const bytes = await readCapped(response.body, policy.maxBytes);
      if (!bytes) return { ok: false, reason: 'too-large' };
      return { ok: true, bytes, ...(contentType ? { contentType } : {}) };
    }
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    return timedOut ? { ok: false, reason: 'timeout' } : { ok: false, reason: 'failed', detail: String(error) };
  }
}
