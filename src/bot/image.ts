import sharp from 'sharp';
import type { ImageSize } from '../grounding/types.ts';
import { fail, ok, type Result } from './result.ts';
import type { InputImage } from './types.ts';

const MEGABYTE = 1024 * 1024;

export interface ImageLimits {
  imageMegabytes: number;
  imageMegapixels: number;
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
  // sharp refuses an empty buffer by throwing at once, not through the promise
  if (image.bytes.byteLength === 0) return fail('not-an-image', { name });
  const meta = await sharp(image.bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  const width = meta?.autoOrient?.width ?? meta?.width;
  const height = meta?.autoOrient?.height ?? meta?.height;
  if (!width || !height) return fail('not-an-image', { name });
  if (width * height > limits.imageMegapixels * 1e6) {
    return fail('image-too-many-pixels', { width, height, limit: limits.imageMegapixels });
  }
  return ok({ width, height });
}
