import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { crashThreadHere } from '../bench/soak/thread-crash.ts';
import { iou } from '../src/eval/iou.ts';
import type { Entity } from '../src/grounding/types.ts';
import { annotate } from '../src/render/annotate.ts';
import { annotateOffThread } from '../src/render/off-thread.ts';
import { PALETTE } from '../src/render/palette.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene } from './helpers/scene.ts';

const LIMIT = 8_000_000;

describe('annotating in the drawing thread', () => {
  it('GIVEN a scene THEN the drawing thread gives the same bytes as drawing here', async () => {
    const scene = drawScene(5);
    const entities: Entity[] = scene.objects.map((o) => ({ phrase: `${o.colour} ${o.shape}`, boxes: [o.box] }));
    const [here, there] = await Promise.all([
      annotate(scene.png, entities, { maxBytes: LIMIT }),
      annotateOffThread(scene.png, entities, { maxBytes: LIMIT }),
    ]);
    expect(Buffer.from(there.bytes).equals(Buffer.from(here.bytes))).toBe(true);
    expect(there.fit).toEqual(here.fit);
  });

  it('GIVEN bytes that are not an image THEN the call rejects and the thread keeps serving', async () => {
    await expect(annotateOffThread(new Uint8Array([1, 2, 3]), [], { maxBytes: LIMIT })).rejects.toThrow();
    const scene = drawScene(6);
    const out = await annotateOffThread(scene.png, [], { maxBytes: LIMIT });
    expect(out.mime).toBe('image/png');
  });

  it('GIVEN an image wider than 2048 px THEN it is drawn at 2048, the box scaled, and the report says so', async () => {
    const width = 8192;
    const height = 1024;
    const image = await sharp({ create: { width, height, channels: 3, background: '#808080' } }).png().toBuffer();
    const box: Entity['boxes'][number] = [2048, 256, 4096, 768];
    const out = await annotateOffThread(image, [{ phrase: 'grey', boxes: [box] }], { maxBytes: LIMIT });
    expect([out.fit.width, out.fit.height]).toEqual([2048, 256]);
    expect(out.fit.scale).toBe(0.25);
    expect(out.fit.note).toMatch(/^drawn at 2048×256; /);
    const drawn = findDrawnBox(out.bytes, PALETTE[0]!.rgb);
    expect(drawn).not.toBeNull();
    expect(iou(drawn!, [512, 64, 1024, 192])).toBeGreaterThan(0.9);
  });

  it('GIVEN the drawing thread crashes while drawing THEN a new thread draws the job, the same bytes', async () => {
    const scene = drawScene(7);
    const entities: Entity[] = scene.objects.map((o) => ({ phrase: o.shape, boxes: [o.box] }));
    await annotateOffThread(scene.png, [], { maxBytes: LIMIT }); // the thread runs
    const crash = await crashThreadHere('drawing');
    try {
      const [drawn, here] = await Promise.all([
        annotateOffThread(scene.png, entities, { maxBytes: LIMIT }),
        annotate(scene.png, entities, { maxBytes: LIMIT }),
      ]);
      await crash.crashed;
      expect(Buffer.from(drawn.bytes).equals(Buffer.from(here.bytes))).toBe(true);
    } finally {
      crash.close();
    }
  });
});
