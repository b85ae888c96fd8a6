import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { resizeBicubic } from '../src/inference/bicubic-resize.ts';
import { InputError } from '../src/inference/errors.ts';
import { decodeRgb, normalise, preprocessImage } from '../src/inference/preprocess.ts';
import { golden, goldenF32, GOLDEN_DIR, IMAGES_DIR, MINI_NORM } from './helpers/mini-golden.ts';

async function pilResize(rel: string): Promise<Uint8Array> {
  const { data, info } = await sharp(readFileSync(`${GOLDEN_DIR}/${rel}`)).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  expect(info.channels).toBe(3);
  return new Uint8Array(data);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** A PNG whose header claims `width` × `height`: enough for a decoder to decide whether to allocate. */
function pngClaiming(width: number, height: number): Uint8Array {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer): number => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

describe('image preprocessing', () => {
  for (const image of golden.images) {
    it(`${image.name} (${image.mode}) resizes to what PIL gives, at every golden size`, async () => {
      const rgb = await decodeRgb(readFileSync(`${IMAGES_DIR}/${image.name}`));
      expect([rgb.width, rgb.height]).toEqual([image.width, image.height]);
      for (const [size, rel] of Object.entries(image.resize)) {
        const ours = resizeBicubic(rgb, Number(size), Number(size));
        expect(maxDifference(ours.data, await pilResize(rel)), `${image.name} at ${size}`).toBeLessThanOrEqual(0);
      }
    });

    it(`${image.name} gives the reference's normalised pixel values`, async () => {
      const prepared = await preprocessImage(readFileSync(`${IMAGES_DIR}/${image.name}`), MINI_NORM);
      expect(maxDifference(prepared.pixelValues, goldenF32(image.pixel_values.file))).toBeLessThan(1e-5);
    });
  }

  it('refuses empty, corrupt and truncated files, each with its own identifier', async () => {
    const jpeg = readFileSync(`${IMAGES_DIR}/photo-640x480.jpg`);
    await expect(decodeRgb(new Uint8Array(0))).rejects.toMatchObject({ problem: 'image-empty' });
    await expect(decodeRgb(new TextEncoder().encode('definitely not an image'))).rejects.toThrow(InputError);
    await expect(decodeRgb(new TextEncoder().encode('definitely not an image'))).rejects.toMatchObject({
      problem: 'not-an-image',
    });
    await expect(decodeRgb(jpeg.subarray(0, 200))).rejects.toMatchObject({ problem: 'not-an-image' });
    const half = jpeg.subarray(0, jpeg.length / 2);
    await expect(decodeRgb(half)).rejects.toMatchObject({ problem: 'image-unreadable' });
  });

  it('refuses an image whose dimensions would exhaust memory before decoding it', async () => {
    const bomb = pngClaiming(60_000, 60_000);
    expect(bomb.length).toBeLessThan(200);
    await expect(decodeRgb(bomb)).rejects.toMatchObject({
      problem: 'image-too-many-pixels',
      context: { width: 60000, height: 60000 },
    });
  });

  it('turns the image as its EXIF orientation says, so boxes land where people see things', async () => {
    const tall = await sharp({ create: { width: 40, height: 80, channels: 3, background: '#ff0000' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const rgb = await decodeRgb(tall);
    expect([rgb.width, rgb.height]).toEqual([80, 40]);
  });
});

describe('a large image', () => {
  it('is shrunk while decoded, keeps the size people see, and gives the model nearly the pixels of a full decode', async () => {
    const width = 5000;
    const height = 2600;
    // smooth ramps across and down, and a hard edge a third of the way across
    const pixels = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        pixels.set([Math.round((255 * x) / width), Math.round((255 * y) / height), x < width / 3 ? 30 : 220], (y * width + x) * 3);
      }
    }
    const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    const shrunk = await decodeRgb(jpeg, { maxSide: 2048 });
    expect([shrunk.width, shrunk.height]).toEqual([2048, 2048]);
    expect(shrunk.visible).toEqual({ width, height });
    const prepared = await preprocessImage(jpeg, MINI_NORM);
    expect([prepared.width, prepared.height]).toEqual([width, height]);
    const full = await decodeRgb(jpeg);
    const reference = normalise(resizeBicubic(full, MINI_NORM.size, MINI_NORM.size), MINI_NORM.mean, MINI_NORM.std);
    // one 8-bit step is 1/255/std ≈ 0.015 after normalisation: within three steps everywhere
    expect(maxDifference(prepared.pixelValues, reference)).toBeLessThan(0.05);
  });
});
