import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { annotate } from '../src/render/annotate.ts';
import { PALETTE } from '../src/render/palette.ts';
import { iou } from '../src/eval/iou.ts';
import type { Entity } from '../src/grounding/types.ts';
import { drawScene } from './helpers/scene.ts';
import { decodeRgba, findDrawnBox, findDrawnBoxes } from './helpers/drawn-boxes.ts';

const LIMIT = 8_000_000;

describe('annotate draws each box around the object it names', () => {
  it.each([1, 2, 3, 7, 11, 42])('GIVEN scene seed %i with one entity per object THEN each palette-coloured box surrounds its object', async (seed) => {
    const scene = drawScene(seed);
    const entities: Entity[] = scene.objects.map((o) => ({ phrase: `${o.colour} ${o.shape}`, boxes: [o.box] }));
    const out = await annotate(scene.png, entities, { maxBytes: LIMIT });
    expect(out.mime).toBe('image/png');
    scene.objects.forEach((o, i) => {
      const drawn = findDrawnBox(out.bytes, PALETTE[i]!.rgb);
      expect(drawn, `box #${i + 1}`).not.toBeNull();
      expect(iou(drawn!, o.box)).toBeGreaterThan(0.8);
    });
  });

  it.each([[640, 256], [256, 640]])('GIVEN a %i×%i scene with an object at a corner THEN the whole box and label stay in the image', async (width, height) => {
    const side = 60;
    const scene = drawScene({ width, height, objects: [{ colour: 'blue', shape: 'star', box: [0, 0, side, side] }, { colour: 'red', shape: 'circle', box: [width - side, height - side, width, height] }] });
    const out = await annotate(scene.png, [{ phrase: 'blue star', boxes: [scene.objects[0]!.box] }, { phrase: 'red circle', boxes: [scene.objects[1]!.box] }], { maxBytes: LIMIT });
    const first = findDrawnBox(out.bytes, PALETTE[0]!.rgb)!;
    const second = findDrawnBox(out.bytes, PALETTE[1]!.rgb)!;
    // Lines on the image border are moved inward by the renderer, never cut off; corners may lose a pixel.
    expect(Math.max(first[0], first[1])).toBeLessThanOrEqual(1);
    expect(Math.min(second[2] - width, second[3] - height)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(second[2] - width, second[3] - height)).toBeLessThanOrEqual(0);
    expect(iou(first, scene.objects[0]!.box)).toBeGreaterThan(0.9);
    expect(iou(second, scene.objects[1]!.box)).toBeGreaterThan(0.9);
  });

  it.each([4, 8, 15])('GIVEN an unannotated scene (seed %i) THEN no palette colour is mistaken for a drawn box', (seed) => {
    const scene = drawScene(seed);
    for (const colour of PALETTE) expect(findDrawnBox(scene.png, colour.rgb), colour.name).toBeNull();
  });

  it('GIVEN JPEG output THEN the box is still found with a looser colour tolerance', async () => {
    const scene = drawScene(11);
    const entities: Entity[] = [{ phrase: 'first', boxes: [scene.objects[0]!.box] }];
    const png = await annotate(scene.png, entities, { maxBytes: LIMIT });
    const out = await annotate(scene.png, entities, { maxBytes: png.bytes.length - 1 });
    expect(out.mime).toBe('image/jpeg');
    expect(iou(findDrawnBox(out.bytes, PALETTE[0]!.rgb, 30)!, scene.objects[0]!.box)).toBeGreaterThan(0.8);
  });

  it('GIVEN no entities THEN the image comes back unchanged in pixels', async () => {
    const scene = drawScene(5);
    const out = await annotate(scene.png, [], { maxBytes: LIMIT });
    expect(Buffer.from(decodeRgba(out.bytes).data).equals(Buffer.from(decodeRgba(scene.png).data))).toBe(true);
  });

  it('GIVEN a detection entity with two boxes THEN both are drawn in the entity\'s colour, labelled #1 and #2', async () => {
    const scene = drawScene({ width: 400, height: 300, objects: [{ colour: 'green', shape: 'square', box: [20, 100, 80, 160] }, { colour: 'green', shape: 'square', box: [250, 120, 330, 200] }] });
    const out = await annotate(scene.png, [{ phrase: 'squares', boxes: scene.objects.map((o) => o.box) }], { maxBytes: LIMIT });
    const found = findDrawnBoxes(out.bytes, PALETTE[0]!.rgb);
    expect(found).toHaveLength(2);
    // The larger box comes first; each surrounds its own square.
    expect(iou(found[0]!, scene.objects[1]!.box)).toBeGreaterThan(0.8);
    expect(iou(found[1]!, scene.objects[0]!.box)).toBeGreaterThan(0.8);
    expect(findDrawnBox(out.bytes, PALETTE[0]!.rgb)).toEqual(found[0]);
  });
});

describe('annotate honours EXIF orientation', () => {
  it('GIVEN a JPEG stored landscape with orientation 6 (rotate 90°) THEN boxes land on the upright image', async () => {
    // Stored 300×200; shown upright it is 200×300. The entity is in upright pixels.
    const stored = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#f0f0f0' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const out = await annotate(stored, [{ phrase: 'thing', boxes: [[20, 150, 120, 280]] }], { maxBytes: LIMIT });
    const meta = await sharp(out.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([200, 300]);
    expect(iou(findDrawnBox(out.bytes, PALETTE[0]!.rgb)!, [20, 150, 120, 280])).toBeGreaterThan(0.9);
  });
});

describe('annotate fits the byte limit', () => {
  // Like a photo: smooth shading plus grain, so PNG is large and JPEG much smaller.
  const photo = (width: number, height: number) => {
    const pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < pixels.length; i++) {
      const p = Math.floor(i / 3);
      const [x, y] = [p % width, Math.floor(p / width)];
      pixels[i] = 128 + 60 * Math.sin(x / 7 + (i % 3)) * Math.cos(y / 5) + (((i * 2654435761) >>> 28) - 8);
    }
    return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
  };

  it('GIVEN a PNG too big for the limit THEN a JPEG under the limit comes back and says so', async () => {
    const image = await photo(400, 300);
    const png = await annotate(image, [], { maxBytes: LIMIT });
    const limit = Math.floor(png.bytes.length / 2);
    const out = await annotate(image, [{ phrase: 'x', boxes: [[10, 10, 100, 100]] }], { maxBytes: limit });
    expect(out.mime).toBe('image/jpeg');
    expect(out.name).toMatch(/\.jpg$/);
    expect(out.bytes.length).toBeLessThanOrEqual(limit);
    expect(out.fit).toMatchObject({ scale: 1, fits: true, width: 400, height: 300 });
    expect(out.fit.note).toMatch(/JPEG quality \d+/);
  });

  it('GIVEN a limit no JPEG quality meets THEN the image is downscaled until it fits', async () => {
    const image = await photo(400, 300);
    const out = await annotate(image, [{ phrase: 'x', boxes: [[10, 10, 100, 100]] }], { maxBytes: 6_000 });
    expect(out.bytes.length).toBeLessThanOrEqual(6_000);
    expect(out.fit.fits).toBe(true);
    expect(out.fit.scale).toBeLessThan(1);
    const meta = await sharp(out.bytes).metadata();
    expect([meta.width, meta.height]).toEqual([out.fit.width, out.fit.height]);
    expect(out.fit.note).toMatch(/downscaled to \d+×\d+/);
  });

  it('GIVEN bytes that are not an image THEN annotate rejects instead of drawing garbage', async () => {
    await expect(annotate(new Uint8Array([1, 2, 3]), [], { maxBytes: LIMIT })).rejects.toThrow();
  });
});
