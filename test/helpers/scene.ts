import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import type { Box } from '../../src/grounding/types.ts';

/**
 * The synthetic world of the default model (models/README.md), drawn here independently of the Python generator so tests
 * can make scenes the model never saw and know exactly where every object is.
 */
export type Shape = 'circle' | 'square' | 'triangle' | 'star';
export type ColourName = 'red' | 'green' | 'blue' | 'yellow' | 'purple' | 'orange';
export type Rgb = [number, number, number];

export const SHAPES: readonly Shape[] = ['circle', 'square', 'triangle', 'star'];
export const SCENE_COLOURS: Readonly<Record<ColourName, Rgb>> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [230, 200, 40],
  purple: [140, 60, 190],
  orange: [245, 140, 30],
};
const COLOUR_NAMES = Object.keys(SCENE_COLOURS) as ColourName[];

export interface SceneObject {
  colour: ColourName;
  shape: Shape;
  /** Tight pixel box [x1, y1, x2, y2] of the drawn shape (x2 = x1 + side); always square. */
  box: Box;
  /** The exact fill used (the colour's base ±20 per channel when drawn from a seed). */
  rgb: Rgb;
}

export interface SceneSpec {
  width: number;
  height: number;
  background?: Rgb;
  /** `rgb` defaults to the colour's base value; boxes must be square. */
  objects: { colour: ColourName; shape: Shape; box: Box; rgb?: Rgb }[];
}

export interface Scene {
  png: Uint8Array;
  width: number;
  height: number;
  background: Rgb;
  objects: SceneObject[];
}

const MIN_SIDE = 256;
const MAX_SIDE = 640;
const MIN_GAP = 4;
const JITTER = 20;

/** mulberry32: small, seedable, good enough to spread scenes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function separated(a: Box, b: Box): boolean {
  return a[2] + MIN_GAP <= b[0] || b[2] + MIN_GAP <= a[0] || a[3] + MIN_GAP <= b[1] || b[3] + MIN_GAP <= a[1];
}

/**
 * A random scene of the world's rules: size (unless `size` pins W×H), background, 1–4 separated objects with
 * jittered colours.
 */
export function sceneSpecFromSeed(seed: number, size?: [number, number]): SceneSpec {
  const rand = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const width = size ? size[0] : int(MIN_SIDE, MAX_SIDE);
  const height = size ? size[1] : int(MIN_SIDE, MAX_SIDE);
  const short = Math.min(width, height);
  const wanted = int(1, 4);
  const objects: SceneSpec['objects'] = [];
  for (let tries = 0; objects.length < wanted && tries < 500; tries++) {
    const side = int(Math.ceil(0.12 * short), Math.floor(0.35 * short));
    const x = int(0, width - side);
    const y = int(0, height - side);
    const box: Box = [x, y, x + side, y + side];
    if (!objects.every((o) => separated(o.box, box))) continue;
    const colour = pick(COLOUR_NAMES);
    const rgb = SCENE_COLOURS[colour].map((c) => Math.max(0, Math.min(255, c + int(-JITTER, JITTER)))) as Rgb;
    objects.push({ colour, shape: pick(SHAPES), box, rgb });
  }
  return { width, height, background: [int(200, 255), int(200, 255), int(200, 255)], objects };
}

/** A five-pointed star, one point up, stretched so its outline touches all four sides of the square box. */
function starPoints([x1, y1, x2, y2]: Box): [number, number][] {
  const unit = Array.from({ length: 10 }, (_, i) => {
    const r = i % 2 === 0 ? 1 : 0.382;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    return [r * Math.cos(angle), r * Math.sin(angle)] as [number, number];
  });
  const xs = unit.map((p) => p[0]);
  const ys = unit.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  return unit.map(([x, y]) => [x1 + ((x - minX) / (maxX - minX)) * (x2 - x1), y1 + ((y - minY) / (maxY - minY)) * (y2 - y1)]);
}

function drawShape(ctx: SKRSContext2D, shape: Shape, box: Box): void {
  const [x1, y1, x2, y2] = box;
  const side = x2 - x1;
  ctx.beginPath();
  if (shape === 'square') ctx.rect(x1, y1, side, side);
  if (shape === 'circle') ctx.arc(x1 + side / 2, y1 + side / 2, side / 2, 0, 2 * Math.PI);
  const points: [number, number][] =
    shape === 'triangle' ? [[x1 + side / 2, y1], [x2, y2], [x1, y2]] : shape === 'star' ? starPoints(box) : [];
  points.forEach(([x, y], i) => {
    i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y);
  });
  ctx.closePath();
  ctx.fill();
}

/** Draws a scene from a seed (random by the world's rules) or from an explicit spec; PNG bytes plus the truth. */
export function drawScene(seedOrSpec: number | SceneSpec): Scene {
  const spec = typeof seedOrSpec === 'number' ? sceneSpecFromSeed(seedOrSpec) : seedOrSpec;
  const background = spec.background ?? [240, 240, 240];
  const canvas = createCanvas(spec.width, spec.height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = `rgb(${background.join(',')})`;
  ctx.fillRect(0, 0, spec.width, spec.height);
  const objects = spec.objects.map((o) => ({ ...o, rgb: o.rgb ?? SCENE_COLOURS[o.colour] }));
  for (const o of objects) {
    ctx.fillStyle = `rgb(${o.rgb.join(',')})`;
    drawShape(ctx, o.shape, o.box);
  }
  return { png: new Uint8Array(canvas.toBuffer('image/png')), width: spec.width, height: spec.height, background, objects };
}
