/**
 * PIL's antialiased bicubic resize (Image.resize with BICUBIC), ported so that our uint8 output equals PIL's:
 * the filter support widens with the shrink factor, the horizontal pass runs before the vertical one, and the
 * weights are rounded to 22-bit fixed point exactly as Pillow's 8-bit path does.
 */

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const SUPPORT = 2;
const A = -0.5;

function bicubic(x: number): number {
  const t = Math.abs(x);
  if (t < 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * A;
  return 0;
}

interface Coefficients {
  /** Per output pixel: first input index and how many inputs it reads. */
  bounds: Int32Array;
  /** Fixed-point weights, `ksize` per output pixel. */
  weights: Int32Array;
  ksize: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const row = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) / filterScale);
      row[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? row[x]! / total : row[x]!;
      // Pillow rounds half away from zero when it converts to fixed point.
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, weights, ksize };
}

function clip8(v: number): number {
  if (v >= 1 << PRECISION_BITS << 8) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/** Interleaved 8-bit pixels, `channels` per pixel, row-major. */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

function resizeHorizontal(src: RawImage, outWidth: number, firstRow: number, rows: number): RawImage {
  const { bounds, weights, ksize } = coefficients(src.width, outWidth);
  const c = src.channels;
  const out = new Uint8Array(outWidth * rows * c);
  for (let y = 0; y < rows; y++) {
    const rowStart = (y + firstRow) * src.width * c;
    for (let xx = 0; xx < outWidth; xx++) {
      const xmin = bounds[xx * 2]!;
      const n = bounds[xx * 2 + 1]!;
      const k = xx * ksize;
      for (let ch = 0; ch < c; ch++) {
        let sum = HALF;
        for (let x = 0; x < n; x++) sum += src.data[rowStart + (xmin + x) * c + ch]! * weights[k + x]!;
        out[(y * outWidth + xx) * c + ch] = clip8(sum);
      }
    }
  }
  return { data: out, width: outWidth, height: rows, channels: c };
}

function resizeVertical(src: RawImage, outHeight: number, bounds: Int32Array, weights: Int32Array, ksize: number): RawImage {
  const c = src.channels;
  const stride = src.width * c;
  const out = new Uint8Array(outHeight * stride);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = bounds[yy * 2]!;
    const n = bounds[yy * 2 + 1]!;
    const k = yy * ksize;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let y = 0; y < n; y++) sum += src.data[(ymin + y) * stride + i]! * weights[k + y]!;
      out[yy * stride + i] = clip8(sum);
    }
  }
  return { data: out, width: src.width, height: outHeight, channels: c };
}

/** Resizes to exactly width × height (aspect not kept), bit-exact with Pillow's BICUBIC. */
export function resizeBicubic(src: RawImage, width: number, height: number): RawImage {
  const vertical = coefficients(src.height, height);
  let img = src;
  if (width !== src.width) {
    // Only the rows the vertical pass will read are resampled horizontally, as Pillow does.
    const first = vertical.bounds[0]!;
    const last = vertical.bounds[height * 2 - 2]! + vertical.bounds[height * 2 - 1]!;
    for (let i = 0; i < height; i++) vertical.bounds[i * 2] = vertical.bounds[i * 2]! - first;
    img = resizeHorizontal(src, width, first, last - first);
  }
  if (height !== src.height) img = resizeVertical(img, height, vertical.bounds, vertical.weights, vertical.ksize);
  return img === src ? { ...src, data: src.data.slice() } : img;
}
