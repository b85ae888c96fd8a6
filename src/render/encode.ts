import sharp from 'sharp';

/** How an image was made to fit the byte limit, so callers can tell the user. */
export interface FitReport {
  mime: 'image/png' | 'image/jpeg';
  width: number;
  height: number;
  /** Output side / drawn side: 1 unless the image had to be downscaled. */
  scale: number;
  /** JPEG quality, when JPEG was needed. */
  quality?: number;
  /** False only when even the smallest attempt is over the limit (the last attempt is returned anyway). */
  fits: boolean;
  /** One line for logs or the user, e.g. `JPEG quality 80 to fit 1.0 MB`. */
  note: string;
}

const JPEG_QUALITIES = [90, 80, 70, 60, 50];
/** Full-resolution colour: 4:2:0 subsampling smears 2-px coloured box lines into a faint blur. */
const JPEG_OPTIONS = { chromaSubsampling: '4:4:4' } as const;
const DOWNSCALE_STEP = 0.75;
const DOWNSCALED_QUALITY = 75;
/** Below this side length an image says nothing; stop shrinking. */
const MIN_SIDE = 32;

const megabytes = (n: number): string => (n >= 1_000_000 ? `${(n / 1_000_000).toFixed(1)} MB` : `${Math.round(n / 1000)} kB`);

/**
 * Encodes RGBA pixels to fit `maxBytes`: PNG when it fits (lossless, sharp lines), else JPEG at decreasing
 * quality, else JPEG downscaled step by step.
 */
export async function encodeToFit(rgba: Uint8Array, width: number, height: number, maxBytes: number): Promise<{ bytes: Uint8Array; report: FitReport }> {
  const pixels = () => sharp(rgba, { raw: { width, height, channels: 4 } });
  const png = await pixels().png().toBuffer();
  if (png.length <= maxBytes) {
    return { bytes: png, report: { mime: 'image/png', width, height, scale: 1, fits: true, note: `PNG ${width}×${height}` } };
  }
  const opaque = () => pixels().flatten({ background: '#ffffff' });
  for (const quality of JPEG_QUALITIES) {
    const jpeg = await opaque().jpeg({ quality, ...JPEG_OPTIONS }).toBuffer();
    if (jpeg.length <= maxBytes) {
      const note = `JPEG quality ${quality} to fit ${megabytes(maxBytes)}`;
      return { bytes: jpeg, report: { mime: 'image/jpeg', width, height, scale: 1, quality, fits: true, note } };
    }
  }
  let scale = 1;
  for (;;) {
    scale *= DOWNSCALE_STEP;
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const jpeg = await opaque().resize(w, h, { fit: 'fill' }).jpeg({ quality: DOWNSCALED_QUALITY, ...JPEG_OPTIONS }).toBuffer();
    const fits = jpeg.length <= maxBytes;
    if (fits || Math.min(w, h) <= MIN_SIDE) {
      const note = `downscaled to ${w}×${h} and JPEG quality ${DOWNSCALED_QUALITY} ${fits ? 'to fit' : 'but still over'} ${megabytes(maxBytes)}`;
      return { bytes: jpeg, report: { mime: 'image/jpeg', width: w, height: h, scale: w / width, quality: DOWNSCALED_QUALITY, fits, note } };
    }
  }
}
