/** Raw pixels of a BMP, top row first: RGB, or RGBA when the file has an alpha mask. */
export interface BmpPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 3 | 4;
}

const BI_RGB = 0;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

export const isBmp = (bytes: Uint8Array): boolean => bytes.length > 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;

/** The size a BMP's header declares (negative heights are top-down files), without reading its pixels. */
export function bmpSize(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (!isBmp(bytes)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const core = view.getUint32(14, true) === 12;
  const width = core ? view.getUint16(18, true) : view.getInt32(18, true);
  const height = Math.abs(core ? view.getInt16(20, true) : view.getInt32(22, true));
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** One channel's value from a bit mask, scaled to 0–255. */
function channel(value: number, mask: number): number {
  if (mask === 0) return 255;
  const shift = Math.clz32(0) - Math.clz32(mask & -mask) - 1;
  const max = mask >>> shift;
  return Math.round((((value & mask) >>> shift) * 255) / max);
}

/**
 * Decodes the BMPs people send, which sharp does not read: uncompressed 1-, 4-, 8-bit (palette), 24- and 32-bit,
 * and 16- or 32-bit with channel masks. Compressed (RLE, embedded JPEG/PNG) or damaged files give undefined.
 */
export function decodeBmp(bytes: Uint8Array): BmpPixels | undefined {
  const size = bmpSize(bytes);
  if (!size) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = view.getUint32(14, true);
  const core = headerSize === 12;
  const topDown = !core && view.getInt32(22, true) < 0;
  const bits = view.getUint16(core ? 24 : 28, true);
  const compression = core ? BI_RGB : view.getUint32(30, true);
  const offset = view.getUint32(10, true);
  const { width, height } = size;
  const stride = Math.floor((bits * width + 31) / 32) * 4;
  if (offset + stride * height > bytes.length) return undefined;

  const masked = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (!(compression === BI_RGB || (masked && (bits === 16 || bits === 32)))) return undefined;
  if (![1, 4, 8, 16, 24, 32].includes(bits)) return undefined;
  // masks follow a 40-byte header (or sit inside a longer one); plain 16-bit is 5-5-5, plain 32-bit is BGRX
  const mask = (k: number, fallback: number): number => (masked ? view.getUint32(54 + 4 * k, true) : fallback);
  const red = mask(0, bits === 16 ? 0x7c00 : 0xff0000);
  const green = mask(1, bits === 16 ? 0x03e0 : 0xff00);
  const blue = mask(2, bits === 16 ? 0x001f : 0xff);
  const alpha = masked && (compression === BI_ALPHABITFIELDS || headerSize >= 56) ? mask(3, 0) : 0;
  const channels = alpha !== 0 ? 4 : 3;

  const paletteAt = 14 + headerSize;
  const entry = core ? 3 : 4;
  const colours = bits <= 8 ? Math.min(1 << bits, Math.floor((offset - paletteAt) / entry)) : 0;
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const row = offset + stride * (topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * channels;
      if (bits <= 8) {
        const perByte = 8 / bits;
        const byte = bytes[row + Math.floor(x / perByte)]!;
        const index = (byte >> (8 - bits * ((x % perByte) + 1))) & ((1 << bits) - 1);
        if (index >= colours) return undefined;
        const p = paletteAt + index * entry;
        out.set([bytes[p + 2]!, bytes[p + 1]!, bytes[p]!], at);
      } else if (bits === 24) {
        const p = row + x * 3;
        out.set([bytes[p + 2]!, bytes[p + 1]!, bytes[p]!], at);
      } else {
        const value = bits === 16 ? view.getUint16(row + x * 2, true) : view.getUint32(row + x * 4, true);
        out.set([channel(value, red), channel(value, green), channel(value, blue)], at);
        if (channels === 4) out[at + 3] = channel(value, alpha);
      }
    }
  }
  return { data: out, width, height, channels };
}
