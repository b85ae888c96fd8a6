import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { createBot } from '../src/bot/core.ts';
import { hashImage } from '../src/bot/image.ts';
import { PLUGINS } from '../plugins/index.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

const scene = drawScene(3);
const ACCEPTED = 'PNG, JPEG, WebP, GIF (first frame), BMP or TIFF';

function setup(limits: { imageMegabytes?: number; imageMegapixels?: number } = {}) {
  const engine = new ScriptedEngine(() => 'a red circle');
  const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, settings: { limits } }));
  return { engine, chat };
}

const solid = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: '#3080c0' } });

describe('GIVEN an image in a format the bot does not read', () => {
  test('WHEN it is an SVG, an AVIF or a PDF THEN one line names the formats accepted, nothing asked', async () => {
    const { chat, engine } = setup();
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><image href="file:///etc/hostname"/></svg>',
    );
    const xmlSvg = new TextEncoder().encode(`<?xml version="1.0"?>\n${new TextDecoder().decode(svg)}`);
    const avif = await solid(32, 32).avif().toBuffer();
    const pdf = new TextEncoder().encode('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n');
    for (const [bytes, name, format] of [
      [svg, 'map.svg', 'SVG'],
      [xmlSvg, 'drawing.svg', 'SVG'],
      [avif, 'photo.avif', 'HEIF'],
      [pdf, 'scan.pdf', 'PDF'],
    ] as const) {
      const { reply } = await chat.send('/caption', { image: { bytes, name } });
      expect(reply).toEqual({
        kind: 'user-error',
        error: 'image-format',
        text: `${name} is ${format}, which this bot does not read; send ${ACCEPTED}.`,
      });
    }
    expect(engine.requests).toEqual([]);
  });
});

describe('GIVEN images at the limits', () => {
  test('WHEN a file is over the megabytes or the megapixels THEN each is refused by its own identifier', async () => {
    const { chat, engine } = setup({ imageMegabytes: 0.01, imageMegapixels: 0.001 });
    const big = await solid(200, 200).png({ compressionLevel: 0 }).toBuffer();
    expect((await chat.send('/caption', { image: { bytes: big } })).reply).toMatchObject({
      error: 'image-too-large',
      text: 'That image is 0.1 MB; the limit is 0.01 MB.',
    });
    const wide = await solid(50, 40).png().toBuffer();
    expect((await chat.send('/caption', { image: { bytes: wide } })).reply).toMatchObject({
      error: 'image-too-many-pixels',
      text: 'That image is 50×40 pixels; the limit is 0.001 megapixels.',
    });
    expect(engine.requests).toEqual([]);
  });
});

describe('GIVEN an accepted image', () => {
  test('WHEN it is a plain PNG THEN its bytes are kept and the engine gets their hash', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image: { bytes: scene.png } });
    expect(engine.requests).toHaveLength(1);
    expect(engine.requests[0]!.imageHash).toBe(hashImage(scene.png));
  });

  test('WHEN a PNG carries a megabyte of padding THEN what is kept is re-encoded without it', async () => {
    const { chat, engine } = setup();
    const padded = new Uint8Array([...scene.png, ...new Uint8Array(1024 * 1024)]);
    const { reply } = await chat.send('/caption', { image: { bytes: padded } });
    expect(reply.kind).toBe('answer');
    expect(engine.images).toHaveLength(1);
    const kept = engine.images[0]!;
    expect(kept.byteLength).toBeLessThan(scene.png.byteLength + 64 * 1024);
    expect(engine.requests[0]!.imageHash).toBe(hashImage(kept));
    const pixels = async (bytes: Uint8Array) => sharp(bytes).removeAlpha().raw().toBuffer();
    expect((await pixels(kept)).equals(await pixels(scene.png))).toBe(true);
  });

  test('WHEN a photo is turned by EXIF THEN its bytes are kept, and boxes use the size people see', async () => {
    const { chat, engine } = setup();
    const sideways = await solid(40, 80).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    await chat.send('/caption', { image: { bytes: sideways } });
    expect(Buffer.from(engine.images[0]!).equals(sideways)).toBe(true);
    // 70..78 across is inside the 80×40 people see, outside the 40×80 stored
    expect((await chat.send('/identify 70,10,78,30')).reply.kind).toBe('answer');
    expect((await chat.send('/identify 10,50,30,70')).reply).toMatchObject({ error: 'box-outside' });
  });

  test('WHEN a JPEG carries padding THEN it is kept re-encoded as a JPEG, upright', async () => {
    const { chat, engine } = setup();
    const sideways = await solid(40, 80).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const padded = new Uint8Array([...sideways, ...new Uint8Array(256 * 1024)]);
    await chat.send('/caption', { image: { bytes: padded } });
    const meta = await sharp(engine.images[0]!).metadata();
    expect([meta.format, meta.width, meta.height, meta.orientation ?? 1]).toEqual(['jpeg', 80, 40, 1]);
    expect(engine.images[0]!.byteLength).toBeLessThan(64 * 1024);
  });

  test('WHEN it is an animated GIF THEN its first frame is what the model gets', async () => {
    const { chat, engine } = setup();
    const frames = [await solid(16, 16).raw().toBuffer(), Buffer.alloc(16 * 16 * 3, 255)];
    const animated = await sharp(Buffer.concat(frames), { raw: { width: 16, height: 32, channels: 3, pageHeight: 16 } })
      .gif({ loop: 0 })
      .toBuffer();
    expect((await sharp(animated).metadata()).pages).toBe(2);
    await chat.send('/caption', { image: { bytes: animated } });
    const meta = await sharp(engine.images[0]!).metadata();
    expect([meta.format, meta.width, meta.height, meta.pages ?? 1]).toEqual(['png', 16, 16, 1]);
    const [r, g, b] = await sharp(engine.images[0]!).removeAlpha().raw().toBuffer();
    expect([r, g, b]).toEqual([0x30, 0x80, 0xc0]);
  });
});

describe('GIVEN a BMP, which sharp does not read', () => {
  const dir = fileURLToPath(new URL('./fixtures/bmp/', import.meta.url));
  const rgb = async (bytes: Uint8Array) => sharp(bytes).removeAlpha().raw().toBuffer();

  test.each(['rgb24', 'topdown24', 'pal8', 'mono', 'rgba32'])(
    'WHEN it is %s THEN the model gets the pixels Pillow reads from it, as a PNG',
    async (name) => {
      const { chat, engine } = setup();
      const bmp = readFileSync(`${dir}${name}-13x7.bmp`);
      const { reply } = await chat.send('/caption', { image: { bytes: bmp, name: `${name}.bmp` } });
      expect(reply.kind).toBe('answer');
      const kept = engine.images[0]!;
      expect((await sharp(kept).metadata()).format).toBe('png');
      expect((await rgb(kept)).equals(await rgb(readFileSync(`${dir}${name}-13x7.png`)))).toBe(true);
    },
  );

  test('WHEN it is cut short THEN it is refused as damaged', async () => {
    const { chat, engine } = setup();
    const bmp = readFileSync(`${dir}rgb24-13x7.bmp`);
    const { reply } = await chat.send('/caption', { image: { bytes: bmp.subarray(0, 100) } });
    expect(reply).toMatchObject({ kind: 'user-error', error: 'image-unreadable' });
    expect(engine.requests).toEqual([]);
  });
});
