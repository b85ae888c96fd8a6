import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { drawScene, sceneSpecFromSeed, seededRandom, SCENE_COLOURS, SHAPES, type Scene, type SceneObject } from './scene.ts';

/**
 * A held-out set drawn by this file's canvas renderer instead of the Python generator the default model was trained
 * on: antialiased edges, its own random draws, the same published rules. It shows whether the model learned the
 * world or the generator's pixels.
 *
 *   npx tsx test/helpers/canvas-eval-set.ts [OUT_DIR]     (default models/eval: writes canvas.jsonl and canvas/*.png)
 */
const RANDOM_SCENES = 40;
const EXTREME_SCENES = 5; // at each of 640×256 and 256×640
const FIRST_SEED = 424_242;

type Case = Record<string, unknown>;
type Pick = <T>(list: readonly T[]) => T;
const name = (o: SceneObject) => `${o.colour} ${o.shape}`;

function casesFor(scene: Scene, image: string, rand: () => number): Case[] {
  const pick: Pick = (list) => list[Math.floor(rand() * list.length)]!;
  const objects = [...scene.objects].sort((a, b) => a.box[0] - b.box[0] || a.box[1] - b.box[1]);
  const cases: Case[] = [];
  const unique = objects.filter((o) => objects.filter((p) => name(p) === name(o)).length === 1);
  if (unique.length) {
    const o = pick(unique);
    cases.push({ image, task: 'refer', text: `the ${name(o)}`, box: o.box });
  }
  const shown = pick(objects);
  cases.push({ image, task: 'identify', box: shown.box, answer: name(shown) });
  cases.push({ image, task: 'vqa', ...vqa(objects, rand, pick) });
  const byShape = rand() < 0.5;
  const probe = pick(objects);
  const hits = objects.filter((o) => (byShape ? o.shape === probe.shape : o.colour === probe.colour));
  cases.push({ image, task: 'detection', text: byShape ? `${probe.shape}s` : `${probe.colour} objects`, boxes: hits.map((o) => o.box) });
  cases.push({ image, task: 'caption', objects: objects.map(name) });
  cases.push({ image, task: 'grounding', objects: objects.map((o) => ({ phrase: name(o), box: o.box })) });
  return cases;
}

function vqa(objects: SceneObject[], rand: () => number, pick: Pick): { text: string; answer: string } {
  const loneShape = objects.filter((o) => objects.filter((p) => p.shape === o.shape).length === 1);
  const loneColour = objects.filter((o) => objects.filter((p) => p.colour === o.colour).length === 1);
  const kinds = ['count shape', 'count all', 'exists'];
  if (loneShape.length) kinds.push('colour of');
  if (loneColour.length) kinds.push('shape of');
  const kind = pick(kinds);
  if (kind === 'colour of') {
    const o = pick(loneShape);
    return { text: `what color is the ${o.shape}?`, answer: o.colour };
  }
  if (kind === 'shape of') {
    const o = pick(loneColour);
    return { text: `what shape is the ${o.colour} object?`, answer: o.shape };
  }
  if (kind === 'count shape') {
    const shape = pick(SHAPES);
    return { text: `how many ${shape}s are there?`, answer: String(objects.filter((o) => o.shape === shape).length) };
  }
  if (kind === 'count all') return { text: 'how many objects are there?', answer: String(objects.length) };
  if (rand() < 0.5) return { text: `is there a ${name(pick(objects))}?`, answer: 'yes' };
  const present = new Set(objects.map(name));
  const absent = Object.keys(SCENE_COLOURS).flatMap((c) => SHAPES.map((s) => `${c} ${s}`)).filter((n) => !present.has(n));
  return { text: `is there a ${pick(absent)}?`, answer: 'no' };
}

function main(outDir: string): void {
  mkdirSync(join(outDir, 'canvas'), { recursive: true });
  const sizes: ([number, number] | undefined)[] = [
    ...Array.from({ length: RANDOM_SCENES }, () => undefined),
    ...Array.from({ length: EXTREME_SCENES }, (): [number, number] => [640, 256]),
    ...Array.from({ length: EXTREME_SCENES }, (): [number, number] => [256, 640]),
  ];
  const rand = seededRandom(FIRST_SEED);
  const lines: Case[] = [];
  sizes.forEach((size, i) => {
    const seed = FIRST_SEED + i;
    const scene = drawScene(sceneSpecFromSeed(seed, size));
    const image = `canvas/${seed}.png`;
    writeFileSync(join(outDir, image), scene.png);
    lines.push(...casesFor(scene, image, rand));
  });
  writeFileSync(join(outDir, 'canvas.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  console.log(`wrote ${lines.length} cases on ${sizes.length} scenes to ${join(outDir, 'canvas.jsonl')}`);
}

main(resolve(process.argv[2] ?? 'models/eval'));
