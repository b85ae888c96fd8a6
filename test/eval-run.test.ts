import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCases } from '../src/eval/cases.ts';
import { evaluate, type EvalEngine } from '../src/eval/run.ts';
import { summarize, formatTable } from '../src/eval/summary.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { drawScene, type Scene } from './helpers/scene.ts';

let dir: string;
let scene: Scene;

/** A stand-in engine that answers from a table keyed by the question, and records what it was asked. */
function scriptedEngine(answers: (r: GenerateRequest) => string): EvalEngine & { asked: GenerateRequest[]; forgotten: string[] } {
  const asked: GenerateRequest[] = [];
  const forgotten: string[] = [];
  return {
    asked,
    forgotten,
    async generate(r) {
      asked.push(r);
      return { raw: answers(r), ids: [], cut: false, imageSize: { width: 0, height: 0 }, visionCached: false, timings: { preprocessMs: 0, visionMs: 0, prefillMs: 0, decodeMs: 0, firstTokenMs: 0, tokens: 0, prefillTokens: 0 } };
    },
    forget: (c) => void forgotten.push(c),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-run-'));
  scene = drawScene({ width: 400, height: 300, objects: [
    { colour: 'red', shape: 'circle', box: [20, 30, 100, 110] },
    { colour: 'blue', shape: 'star', box: [200, 150, 280, 230] },
    { colour: 'green', shape: 'circle', box: [300, 20, 360, 80] },
  ] });
  await writeFile(join(dir, 'scene.png'), scene.png);
  const [red, blue, green] = scene.objects.map((o) => o.box);
  const lines = [
    { image: 'scene.png', task: 'refer', text: 'the red circle', box: red },
    { image: 'scene.png', task: 'identify', box: blue, answer: 'blue star' },
    { image: 'scene.png', task: 'vqa', text: 'how many objects are there?', answer: '3' },
    { image: 'scene.png', task: 'detection', text: 'circles', boxes: [red, green] },
    { image: 'scene.png', task: 'caption', objects: ['red circle', 'blue star', 'green circle'] },
    { image: 'scene.png', task: 'grounding', objects: [{ phrase: 'red circle', box: red }, { phrase: 'blue star', box: blue }, { phrase: 'green circle', box: green }] },
  ];
  await writeFile(join(dir, 'data.jsonl'), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const size = { width: 400, height: 300 };
const grid = (i: number) => formatBox(pixelsToGrid(scene.objects[i]!.box, size));

/** What a perfect model would say, written by hand from the scene's truth. */
function perfect(r: GenerateRequest): string {
  switch (r.task) {
    case 'refer': return grid(0);
    case 'identify': return 'blue star';
    case 'vqa': return '3';
    case 'detection': return `<p>circles</p> ${grid(0)}<delim>${grid(2)}`;
    case 'caption': return 'a red circle, a blue star and a green circle.';
    default: return `<p>a red circle</p> ${grid(0)} left of <p>a blue star</p> ${grid(1)} and <p>a green circle</p> ${grid(2)}`;
  }
}

describe('evaluate', () => {
  it('GIVEN a model that answers every case right THEN every task scores full marks, with the official prompts', async () => {
    const loaded = await loadCases(join(dir, 'data.jsonl'));
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const engine = scriptedEngine(perfect);
    const predictions = await evaluate(loaded.value, engine);
    const byTask = Object.fromEntries(summarize(predictions).map((s) => [s.task, s]));
    expect(byTask.refer!.accuracy).toBe(1);
    expect(byTask.identify!.accuracy).toBe(1);
    expect(byTask.vqa!.accuracy).toBe(1);
    expect(byTask.caption!.accuracy).toBe(1);
    expect(byTask.detection).toMatchObject({ f1: 1, tp: 2, fp: 0, fn: 0 });
    expect(byTask.grounding).toMatchObject({ f1: 1, tp: 3 });
    expect(engine.asked.map((r) => [r.task, r.question])).toEqual([
      ['refer', 'the red circle'],
      ['identify', `what is this ${formatBox([50, 50, 70, 76])}`],
      ['vqa', 'how many objects are there?'],
      ['detection', 'circles'],
      ['caption', 'briefly describe this image.'],
      ['grounding', 'describe this image in detail'],
    ]);
    expect(engine.asked.every((r) => r.generation?.doSample === false && r.history.length === 0)).toBe(true);
    // short answers are capped; answers listing every object may run to the model's own max_new_tokens
    expect(engine.asked.map((r) => r.generation?.maxNewTokens)).toEqual([64, 64, 64, undefined, undefined, undefined]);
    expect(engine.forgotten).toHaveLength(6);
    expect(predictions[0]).toMatchObject({ line: 1, raw: grid(0), image_size: size, score: { correct: true } });
    expect(predictions[0]!.entities[0]!.boxes[0]).toEqual([20, 30, 100, 108]);
    expect(formatTable(summarize(predictions))).toMatch(/refer\s+1\s+accuracy 100\.0%/);
  });

  it('GIVEN a model that answers wrongly THEN scores drop where a user would expect', async () => {
    const loaded = await loadCases(join(dir, 'data.jsonl'));
    if (!loaded.ok) throw new Error(loaded.message);
    const wrong = (r: GenerateRequest) => (r.task === 'detection' ? `<p>circles</p> ${grid(0)}<delim>${grid(1)}` : r.task === 'refer' ? grid(1) : 'no idea');
    const byTask = Object.fromEntries(summarize(await evaluate(loaded.value, scriptedEngine(wrong))).map((s) => [s.task, s]));
    expect(byTask.refer!.accuracy).toBe(0);
    expect(byTask.vqa!.accuracy).toBe(0);
    expect(byTask.detection).toMatchObject({ tp: 1, fp: 1, fn: 1, precision: 0.5, recall: 0.5 });
    expect(byTask.grounding).toMatchObject({ tp: 0, fn: 3, f1: 0 });
  });

  it('GIVEN --refcoco-prompt THEN refer asks "give me the location of" the phrase', async () => {
    const loaded = await loadCases(join(dir, 'data.jsonl'));
    if (!loaded.ok) throw new Error(loaded.message);
    const engine = scriptedEngine(perfect);
    await evaluate(loaded.value.slice(0, 1), engine, { refcocoPrompt: true });
    expect(engine.asked[0]!.question).toBe('give me the location of the red circle');
  });

  it('GIVEN a case whose image is missing THEN that case is marked not run and scored wrong, the rest go on', async () => {
    await writeFile(join(dir, 'missing.jsonl'), [
      JSON.stringify({ image: 'nope.png', task: 'detection', text: 'circles', boxes: [[0, 0, 5, 5]] }),
      JSON.stringify({ image: 'scene.png', task: 'vqa', text: 'how many objects are there?', answer: '3' }),
    ].join('\n'));
    const loaded = await loadCases(join(dir, 'missing.jsonl'));
    if (!loaded.ok) throw new Error(loaded.message);
    const predictions = await evaluate(loaded.value, scriptedEngine(perfect));
    expect(predictions[0]).toMatchObject({ error: 'cannot read image nope.png', score: { tp: 0, fp: 0, fn: 1 } });
    expect(predictions[1]!.score).toEqual({ correct: true });
    expect(summarize(predictions).find((s) => s.task === 'detection')!.errors).toBe(1);
  });
});

describe('loadCases', () => {
  it.each([
    ['{"image": "a.png", "task": "refer", "text": "x"}', /:1: box: /],
    ['{"image": "a.png", "task": "paint"}', /:1: task: /],
    ['\n{not json', /:2: not valid JSON/],
    ['', /has no cases/],
  ])('GIVEN a bad file %j THEN a one-line message names the line and the problem', async (content, message) => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, content);
    const loaded = await loadCases(file);
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.message).toMatch(message);
  });
  it('GIVEN a file that does not exist THEN it says it cannot read it', async () => {
    expect(await loadCases(join(dir, 'absent.jsonl'))).toMatchObject({ ok: false, error: 'unreadable', message: /ENOENT/ });
  });
});
