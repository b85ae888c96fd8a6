import sharp from 'sharp';
import type { ImageSize } from '../grounding/types.ts';
import { fail, ok, type Result } from './result.ts';
import type { InputImage } from './types.ts';

const MEGABYTE = 1024 * 1024;

export interface ImageLimits {
  imageMegabytes: number;
  imageMegapixels: number;
}

/** The size people see (EXIF orientation applied), the one boxes are given in; undefined when not an image. */
export async function visibleSize(bytes: Uint8Array): Promise<ImageSize | undefined> {
  // sharp refuses an empty buffer by throwing at once, not through the promise
  if (bytes.byteLength === 0) return undefined;
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  const width = meta?.autoOrient?.width ?? meta?.width;
  const height = meta?.autoOrient?.height ?? meta?.height;
  return width && height ? { width, height } : undefined;
}

/**
 * Checks an uploaded file before any work is queued: it must decode as an image and fit the limits. The size is
 * the one people see (EXIF orientation applied), the one boxes are given in.
 */
export async function readImage(image: InputImage, limits: ImageLimits): Promise<Result<ImageSize>> {
  const name = image.name ?? 'the file';
  if (image.bytes.byteLength > limits.imageMegabytes * MEGABYTE) {
    const size = (image.bytes.byteLength / MEGABYTE).toFixed(1);
    return fail('image-too-large', { size, limit: limits.imageMegabytes });
  }
  const size = await visibleSize(image.bytes);
  if (!size) return fail('not-an-image', { name });
  const { width, height } = size;
  if (width * height > limits.imageMegapixels * 1e6) {
    return fail('image-too-many-pixels', { width, height, limit: limits.imageMegapixels });
  }
  return ok({ width, height });
}
