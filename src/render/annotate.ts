import sharp from 'sharp';
import { createCanvas } from '@napi-rs/canvas';
import type { Box, Entity } from '../grounding/types.ts';
import type { OutputImage } from './output-image.ts';
import { drawEntities } from './draw.ts';
import { encodeToFit, type FitReport } from './encode.ts';

export interface AnnotateOptions {
  /** Largest output in bytes (the platform's upload limit). */
  maxBytes: number;
  /** File name without extension; the extension follows the encoding. */
  name?: string;
}

/**
 * The longest side drawn on: larger images are shrunk while they are decoded (at most 16 MB of RGBA). An answer's
 * picture is looked at in a chat, and a larger one costs hundreds of megabytes to draw and encode; the boxes are
 * scaled with it and the fit report says so.
 */
const MAX_DRAW_SIDE = 2048;

/** The uploadable image plus what was done to make it fit. */
export interface AnnotatedImage extends OutputImage {
  fit: FitReport;
}

/**
 * Draws numbered boxes and labels for `entities` (pixels of the image as the user sees it) onto the image, and
 * encodes the result to fit `maxBytes`. EXIF orientation is applied first, the way viewers show the photo.
 * Throws only when the bytes are not an image at all.
 */
export async function annotate(
  image: Uint8Array,
  entities: readonly Entity[],
  options: AnnotateOptions,
): Promise<AnnotatedImage> {
  const source = sharp(image); // one sharp object: the header first, then the pixels
  const meta = await source.metadata();
  const visibleWidth = meta.autoOrient?.width ?? meta.width;
  const { data, info } = await source
    .rotate()
    .resize({ width: MAX_DRAW_SIDE, height: MAX_DRAW_SIDE, fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const pixels = ctx.createImageData(width, height);
  pixels.data.set(data);
  ctx.putImageData(pixels, 0, 0);
  const drawScale = width / visibleWidth;
  drawEntities(ctx, drawScale < 1 ? scaled(entities, drawScale) : entities, width, height);
  const drawn = ctx.getImageData(0, 0, width, height).data;
  const rgba = new Uint8Array(drawn.buffer, drawn.byteOffset, drawn.byteLength);
  const { bytes, report } = await encodeToFit(rgba, width, height, options.maxBytes);
  const note = `drawn at ${width}×${height}; ${report.note}`;
  const fit = drawScale < 1 ? { ...report, scale: report.scale * drawScale, note } : report;
  const extension = report.mime === 'image/png' ? 'png' : 'jpg';
  return { bytes, mime: report.mime, name: `${options.name ?? 'answer'}.${extension}`, fit };
}

const scaled = (entities: readonly Entity[], factor: number): Entity[] =>
  entities.map((e) => ({ ...e, boxes: e.boxes.map((b) => b.map((v) => v * factor) as Box) }));
