import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { drawScene } from './helpers/scene.ts';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['bin/minigpt-bot.js', 'eval', ...args]);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eval-cli-'));
  const scene = drawScene(21);
  await writeFile(join(dir, 'scene.png'), scene.png);
  const o = scene.objects[0]!;
  const lines = [
    { image: 'scene.png', task: 'refer', text: `the ${o.colour} ${o.shape}`, box: o.box },
    { image: 'scene.png', task: 'identify', box: o.box, answer: `${o.colour} ${o.shape}` },
    { image: 'scene.png', task: 'vqa', text: 'how many objects are there?', answer: String(scene.objects.length) },
    { image: 'scene.png', task: 'detection', text: `${o.shape}s`, boxes: scene.objects.filter((x) => x.shape === o.shape).map((x) => x.box) },
    { image: 'scene.png', task: 'caption', objects: scene.objects.map((x) => `${x.colour} ${x.shape}`) },
    { image: 'scene.png', task: 'grounding', objects: scene.objects.map((x) => ({ phrase: `${x.colour} ${x.shape}`, box: x.box })) },
  ];
  await writeFile(join(dir, 'data.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('minigpt-bot eval on the random mini model', () => {
  it('GIVEN six tasks THEN it prints one JSON summary with a score per task and writes one prediction per case', async () => {
    const predictions = join(dir, 'out.jsonl');
    const { stdout } = await cli('--data', join(dir, 'data.jsonl'), '--model', MINI_MODEL_DIR, '--predictions', predictions, '--json', '--threads', '1');
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ model: 'mini', cases: 6 });
    expect(report.tasks.map((t: { task: string }) => t.task)).toEqual(['refer', 'identify', 'vqa', 'detection', 'caption', 'grounding']);
    for (const t of report.tasks) {
      const score = t.accuracy ?? t.f1;
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
    const lines = (await readFile(predictions, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(6);
    for (const p of lines) {
      expect(typeof p.raw).toBe('string');
      expect(Array.isArray(p.entities)).toBe(true);
      expect(p.image).toBe('scene.png');
      expect(p.prompt.question.length).toBeGreaterThan(0);
      expect(p.score).toBeTypeOf('object');
    }
  });

  it('GIVEN --limit 2 and no --json THEN a table of the first two cases is printed', async () => {
    const { stdout } = await cli('--data', join(dir, 'data.jsonl'), '--model', MINI_MODEL_DIR, '--limit', '2', '--threads', '1');
    expect(stdout).toMatch(/^task\s+cases\s+score\nrefer\s+1\s+accuracy \d+\.\d%\nidentify\s+1\s+accuracy/);
    expect(stdout).toMatch(/2 cases on mini/);
  });

  it.each([
    [[], /--data FILE\.jsonl is required/],
    [['--data', 'nope.jsonl'], /cannot read nope\.jsonl: ENOENT/],
    [['--data', 'x.jsonl', '--limit', 'lots'], /--limit must be a whole number/],
    [['--data', 'x.jsonl', '--model'], /argument missing/],
  ])('GIVEN bad arguments %j THEN one line on stderr and exit code 2', async (args, message) => {
    const failure = await cli(...args).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(failure?.code).toBe(2);
    expect(failure!.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure!.stderr).toMatch(message);
  });

  it('GIVEN a model directory that does not exist THEN it says so in one line, exit code 2', async () => {
    const failure = await cli('--data', join(dir, 'data.jsonl'), '--model', join(dir, 'no-model')).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(failure?.code).toBe(2);
    expect(failure!.stderr.trim().split('\n')).toHaveLength(1);
  });
});
