import type { IncomingMessage } from 'node:http';

/** One request the bot made, decoded: JSON body (or multipart `payload_json`) and uploaded files. */
export interface RecordedRequest {
  method: string;
  /** Path after /api/v10, e.g. /interactions/1/tok/callback. */
  path: string;
  query: URLSearchParams;
  body: any;
  files: { field: string; name: string; contentType: string; bytes: Uint8Array }[];
  authorization?: string;
  at: number;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Decodes a request the way Discord would: JSON, or multipart/form-data with `payload_json` and `files[n]`. */
export async function decodeRequest(request: IncomingMessage, path: string, query: URLSearchParams): Promise<RecordedRequest> {
  const raw = await readBody(request);
  const contentType = request.headers['content-type'] ?? '';
  const recorded: RecordedRequest = {
    method: request.method ?? 'GET',
    path,
    query,
    body: undefined,
    files: [],
    authorization: request.headers.authorization,
    at: Date.now(),
  };
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') recorded.body = JSON.parse(value);
      } else {
        recorded.files.push({ field, name: value.name, contentType: value.type, bytes: new Uint8Array(await value.arrayBuffer()) });
      }
    }
  } else if (raw.length > 0) {
    recorded.body = JSON.parse(raw.toString('utf8'));
  }
  return recorded;
}
