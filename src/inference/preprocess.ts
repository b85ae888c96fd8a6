import sharp, { type Metadata } from 'sharp';
import { resizeBicubic, type RawImage } from './bicubic-resize.ts';
import { InputError } from './errors.ts';

/** sharp's own default: 0x3FFF × 0x3FFF pixels. */
const DEFAULT_MAX_PIXELS = 0x3fff * 0x3fff;

interface ImageSize {
  width: number;
  height: number;
}

/**
 * Sides longer than this are shrunk while the image is decoded (JPEG and WebP on load), so a large photo never
 * lies in memory at full size: four times the model's side, and never below 2048 px, where the bicubic squash to
 * the model's side stays PIL-exact.
 */
const decodeSide = (modelSide: number): number => Math.max(4 * modelSide, 2048);

export interface PreparedImage {
  /** Normalised float32 CHW, [3, size, size]. */
  pixelValues: Float32Array;
  /** Size of the image after EXIF orientation (before any shrinking): boxes are scaled back to it. */
  width: number;
  height: number;
}

export interface Normalisation {
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

export interface DecodeLimits {
  /** Larger images are refused before decoding (decompression bombs); sharp's own limit when unset. */
  maxPixels?: number;
  /** Each side longer than this is shrunk while decoding; the full size when unset. */
  maxSide?: number;
}

/**
 * Decodes any image sharp reads to 8-bit RGB. EXIF orientation is applied so that boxes land on the image as
 * people see it; alpha is dropped without flattening, as PIL's convert('RGB') does. `visible` is the size people
 * see, which `maxSide` may have shrunk the pixels below.
 */
export async function decodeRgb(
  bytes: Uint8Array,
  limits: DecodeLimits = {},
): Promise<RawImage & { visible: ImageSize }> {
  if (bytes.length === 0) throw new InputError('image-empty', { name: 'the image' });
  // one sharp object: the header is read first, then the same input decoded (the pixel limit is checked here)
  const image = sharp(bytes, { limitInputPixels: false });
  let meta: Metadata;
  try {
    meta = await image.metadata();
  } catch {
    throw new InputError('not-an-image', { name: 'the file' });
  }
  const { width = 0, height = 0 } = meta;
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > maxPixels) {
    throw new InputError('image-too-many-pixels', { width, height, limit: Math.round(maxPixels / 1e6) });
  }
  const visible = { width: meta.autoOrient?.width ?? width, height: meta.autoOrient?.height ?? height };
  const side = limits.maxSide ?? Number.POSITIVE_INFINITY;
  const shrink = visible.width > side || visible.height > side;
  try {
    let pipeline = image.rotate();
    if (shrink) {
      const target = { width: Math.min(visible.width, side), height: Math.min(visible.height, side) };
      pipeline = pipeline.resize({ ...target, fit: 'fill' });
    }
    const { data, info } = await pipeline
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { data: pixels, width: info.width, height: info.height, channels: 3, visible };
  } catch {
    throw new InputError('image-unreadable');
  }
}

/** /255 then (x - mean) / std in float32, laid out channel-first, as torchvision's ToTensor + Normalize. */
export function normalise(img: RawImage, mean: readonly number[], std: readonly number[]): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let ch = 0; ch < 3; ch++) {
    const m = Math.fround(mean[ch]!);
    const s = Math.fround(std[ch]!);
    for (let i = 0; i < plane; i++) {
      out[ch * plane + i] = Math.fround(Math.fround(img.data[i * 3 + ch]! / 255) - m) / s;
    }
  }
  return out;
}

/** Image bytes → the vision model's pixel_values (squashed to size × size with PIL-exact bicubic). */
export async function preprocessImage(
  bytes: Uint8Array,
  norm: Normalisation,
  maxPixels?: number,
): Promise<PreparedImage> {
  const rgb = await decodeRgb(bytes, { maxPixels, maxSide: decodeSide(norm.size) });
  const resized = resizeBicubic(rgb, norm.size, norm.size);
  return { pixelValues: normalise(resized, norm.mean, norm.std), ...rgb.visible };
}
