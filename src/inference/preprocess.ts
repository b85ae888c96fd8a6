import sharp, { type Metadata } from 'sharp';
import { resizeBicubic, type RawImage } from './bicubic-resize.ts';
import { InputError } from './errors.ts';

/** Larger images are refused: decoding them could exhaust memory (decompression bombs). PIL warns at ~89 MP. */
export const MAX_IMAGE_PIXELS = 50_000_000;


export interface PreparedImage {
  /** Normalised float32 CHW, [3, size, size]. */
  pixelValues: Float32Array;
  /** Size of the decoded image after EXIF orientation: boxes are scaled back to it. */
  width: number;
  height: number;
}

export interface Normalisation {
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/**
 * Decodes any image sharp reads to 8-bit RGB. EXIF orientation is applied so that boxes land on the image as
 * people see it; alpha is dropped without flattening, as PIL's convert('RGB') does.
 */
export async function decodeRgb(bytes: Uint8Array, maxPixels = MAX_IMAGE_PIXELS): Promise<RawImage> {
  if (bytes.length === 0) throw new InputError('the image is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch {
    throw new InputError('the file is not an image this bot can read (corrupt or unsupported format)');
  }
  const { width = 0, height = 0 } = meta;
  if (width * height > maxPixels) {
    throw new InputError(`the image is too large (${width}×${height}; at most ${(maxPixels / 1e6).toFixed(0)} megapixels)`);
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 3 };
  } catch {
    throw new InputError('the image could not be decoded (corrupt or truncated data)');
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
export async function preprocessImage(bytes: Uint8Array, norm: Normalisation): Promise<PreparedImage> {
  const rgb = await decodeRgb(bytes);
  const resized = resizeBicubic(rgb, norm.size, norm.size);
  return { pixelValues: normalise(resized, norm.mean, norm.std), width: rgb.width, height: rgb.height };
}
