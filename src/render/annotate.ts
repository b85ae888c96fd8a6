import sharp from 'sharp';
import { createCanvas } from '@napi-rs/canvas';
import type { Entity } from '../grounding/types.ts';
import type { OutputImage } from '../bot/types.ts';
import { drawEntities } from './draw.ts';
import { encodeToFit, type FitReport } from './encode.ts';

export interface AnnotateOptions {
  /** Largest output in bytes (the platform's upload limit). */
  maxBytes: number;
  /** File name without extension; the extension follows the encoding. */
  name?: string;
}

/** The uploadable image plus what was done to make it fit. */
export interface AnnotatedImage extends OutputImage {
  fit: FitReport;
}

/**
 * Draws numbered boxes and labels for `entities` (pixels of the image as the user sees it) onto the image, and
 * encodes the result to fit `maxBytes`. EXIF orientation is applied first, the way viewers show the photo.
 * Throws only when the bytes are not an image at all.
 */
export async function annotate(image: Uint8Array, entities: readonly Entity[], options: AnnotateOptions): Promise<AnnotatedImage> {
  const { data, info } = await sharp(image).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(width, height);
  pixels.data.set(data);
  ctx.putImageData(pixels, 0, 0);
  drawEntities(ctx, entities, width, height);
  const drawn = ctx.getImageData(0, 0, width, height).data;
  const { bytes, report } = await encodeToFit(new Uint8Array(drawn.buffer, drawn.byteOffset, drawn.byteLength), width, height, options.maxBytes);
  const extension = report.mime === 'image/png' ? 'png' : 'jpg';
  return { bytes, mime: report.mime, name: `${options.name ?? 'answer'}.${extension}`, fit: report };
}
