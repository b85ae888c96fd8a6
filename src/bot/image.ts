import { createHash } from 'node:crypto';
import sharp, { type Metadata } from 'sharp';
import type { ImageSize } from '../grounding/types.ts';
import { bmpSize, decodeBmp } from './bmp.ts';
import { fail, ok, type Result } from './result.ts';
import type { InputImage } from './types.ts';

const MEGABYTE = 1024 * 1024;

// No operation cache (it is libvips' own, shared by every thread of the process): each image is opened for one
// purpose, so cached results would only hold on to memory, up to 50 MB and 100 operations by default.
sharp.cache(false);

/** Formats kept byte for byte when not padded; the others are re-encoded as PNG (a padded JPEG as JPEG). */
const KEPT = new Set(['png', 'jpeg', 'webp']);
/** Headers, metadata and a palette a real file may carry beyond its pixels. */
const SLACK_BYTES = 64 * 1024;

export interface ImageLimits {
  imageMegabytes: number;
  imageMegapixels: number;
}

/**
 * An image checked once, where it enters: an accepted format within the limits, normalised (one frame, no bytes
 * beyond what its pixels need), hashed, and measured as people see it (the size boxes are given in).
 */
export interface CheckedImage {
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, hex: the conversation and the engine know the image by it. */
  hash: string;
  size: ImageSize;
}

export const hashImage = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const startsWith = (bytes: Uint8Array, text: string, at = 0): boolean =>
  text.length + at <= bytes.length && [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/**
 * What the first bytes say the file is, before any decoder parses it: an accepted format's name as sharp names it
 * (PNG, JPEG, GIF by its first frame, WebP, TIFF; BMP is bmp.ts's), the name of a known refused one (so the reply
 * can say what was sent), or undefined for anything else.
 */
function sniff(bytes: Uint8Array): { accepted: boolean; format: string } | undefined {
  const accepted = (format: string) => ({ accepted: true, format });
  const refused = (format: string) => ({ accepted: false, format });
  if (startsWith(bytes, '\x89PNG')) return accepted('png');
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return accepted('jpeg');
  if (startsWith(bytes, 'GIF8')) return accepted('gif');
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return accepted('webp');
  if (startsWith(bytes, 'II*\x00') || startsWith(bytes, 'MM\x00*')) return accepted('tiff');
  if (startsWith(bytes, '%PDF')) return refused('PDF');
  if (startsWith(bytes, 'ftyp', 4)) return refused('HEIF');
  const text = new TextDecoder().decode(bytes.subarray(0, 1024)).trimStart().toLowerCase();
  if (text.startsWith('<svg') || (text.startsWith('<?xml') && text.includes('<svg'))) return refused('SVG');
  return undefined;
}

/** The header, read without decoding pixels; undefined when sharp cannot read the file at all. */
function header(bytes: Uint8Array): Promise<Metadata | undefined> {
  return sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
}

/** The size people see (EXIF orientation applied), the one boxes are given in. */
const visible = (meta: Metadata): ImageSize => ({
  width: meta.autoOrient?.width ?? meta.width,
  height: meta.autoOrient?.height ?? meta.height,
});

/**
 * Whether the bytes can be stored as they came: a kept format, one frame, no room for padding. An EXIF turn is
 * kept (every decoder here applies it), so a phone's photo is not re-encoded.
 */
function keepsBytes(meta: Metadata, byteLength: number): boolean {
  const raw = meta.width * meta.height * (meta.channels ?? 4) * ((meta.bitsPerSample ?? 8) > 8 ? 2 : 1);
  return KEPT.has(meta.format) && (meta.pages ?? 1) === 1 && byteLength <= raw + SLACK_BYTES;
}

/** A BMP, which sharp does not read, decoded here and kept as PNG. */
async function checkBmp(bytes: Uint8Array, size: ImageSize, limits: ImageLimits): Promise<Result<CheckedImage>> {
  if (size.width * size.height > limits.imageMegapixels * 1e6) {
    return fail('image-too-many-pixels', { ...size, limit: limits.imageMegapixels });
  }
  const pixels = decodeBmp(bytes);
  if (!pixels) return fail('image-unreadable');
  const { data, width, height, channels } = pixels;
  const png = await sharp(data, { raw: { width, height, channels } }).png().toBuffer();
  const kept = new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
  return ok({ bytes: kept, hash: hashImage(kept), size });
}

/**
 * Checks an uploaded file before any work is queued, reading its header once: it must be an accepted format and fit
 * the limits. A file that cannot be kept as it came (animated, padded, TIFF, BMP) is re-encoded, upright.
 */
export async function checkImage(image: InputImage, limits: ImageLimits): Promise<Result<CheckedImage>> {
  const name = image.name ?? 'the file';
  if (image.bytes.byteLength === 0) return fail('image-empty', { name });
  if (image.bytes.byteLength > limits.imageMegabytes * MEGABYTE) {
    const size = (image.bytes.byteLength / MEGABYTE).toFixed(1);
    return fail('image-too-large', { size, limit: limits.imageMegabytes });
  }
  const bmp = bmpSize(image.bytes);
  if (bmp) return checkBmp(image.bytes, bmp, limits);
  // only an accepted format's bytes ever reach a decoder (an SVG, say, may reference files and URLs)
  const sniffed = sniff(image.bytes);
  if (!sniffed) return fail('not-an-image', { name });
  if (!sniffed.accepted) return fail('image-format', { name, format: sniffed.format });
  const meta = await header(image.bytes);
  if (!meta?.width || !meta.height || meta.format !== sniffed.format) return fail('not-an-image', { name });
  const size = visible(meta);
  const maxPixels = limits.imageMegapixels * 1e6;
  if (size.width * size.height > maxPixels) {
    return fail('image-too-many-pixels', { ...size, limit: limits.imageMegapixels });
  }
  if (keepsBytes(meta, image.bytes.byteLength)) return ok({ bytes: image.bytes, hash: hashImage(image.bytes), size });
  const upright = sharp(image.bytes, { limitInputPixels: maxPixels }).rotate();
  const encoded = meta.format === 'jpeg' ? upright.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }) : upright.png();
  const normalised = await encoded.toBuffer().catch(() => undefined);
  if (!normalised) return fail('image-unreadable');
  const bytes = new Uint8Array(normalised.buffer, normalised.byteOffset, normalised.byteLength);
  return ok({ bytes, hash: hashImage(bytes), size });
}
