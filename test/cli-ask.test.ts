import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../app/cli/commands/ask.ts';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { type Captured, captureOutput } from './helpers/capture-output.ts';
import { IMAGES_DIR } from './helpers/mini-golden.ts';

const BIN = fileURLToPath(new URL('../bin/minigpt-bot.js', import.meta.url));
const PHOTO = join(IMAGES_DIR, 'photo-640x480.jpg');
const MINI = ['--model', MINI_MODEL_DIR, '--max-tokens', '12'];

function spawnCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'ask', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Runs the command in this process, capturing what it prints. */
const ask = (...args: string[]): Promise<Captured> => captureOutput(() => run(args));

afterEach(() => vi.restoreAllMocks());

describe('minigpt-bot ask', () => {
  it('prints one JSON object with the task from the text, the answer and timings, and draws --out', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ask-')), 'answer.png');
    const { code, stdout, stderr } = await spawnCli('--image', PHOTO, ...MINI, '--greedy', '--json', '--out', out, '[refer] the red circle');
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const answer = JSON.parse(lines[0]!);
    expect(Object.keys(answer).sort()).toEqual(['counters', 'entities', 'followUps', 'load', 'peakRssMb', 'raw', 'saved', 'task', 'text', 'timings', 'visionCached']);
    expect(answer.saved).toBe(out);
    expect(answer.followUps).toEqual([]);
    expect(answer.load).toMatchObject({ device: 'cpu' });
    expect(answer.timings.firstToken).toBeGreaterThanOrEqual(answer.timings.prefill);
    expect(answer.timings.msPerToken).toBeGreaterThan(0);
    expect(answer.task).toBe('refer');
    expect(answer.raw.length).toBeGreaterThan(0);
    expect(Array.isArray(answer.entities)).toBe(true);
    for (const key of ['preprocess', 'vision', 'prefill', 'decode']) expect(answer.timings[key]).toBeGreaterThan(0);
    expect(answer.timings.tokens).toBe(12);
    const drawn = await sharp(out).metadata();
    expect([drawn.format, drawn.width, drawn.height]).toEqual(['png', 640, 480]);
  });

  it('asks each --follow-up in the same conversation, from the cached image and prefix', async () => {
    const { code, stdout, stderr } = await spawnCli('--image', PHOTO, ...MINI, '--greedy', '--json',
      '--follow-up', '[identify] {<10><20><50><60>}', '--follow-up', 'and now?', '[refer] the red circle');
    expect(code, stderr).toBe(0);
    const answer = JSON.parse(stdout);
    expect(answer.followUps.map((f: { task: string }) => f.task)).toEqual(['identify', 'chat']);
    expect(answer.counters.visionRuns).toBe(1);
    expect(answer.followUps.every((f: { visionCached: boolean; timings: { vision: number } }) => f.visionCached && f.timings.vision === 0)).toBe(true);
    expect(answer.counters.cacheHits).toBe(2);
    const plain = await ask('--image', PHOTO, ...MINI, '--greedy', '[refer] the red circle', '--follow-up', 'and now?');
    expect(plain.stdout.split('\n')).toEqual(['> the red circle', expect.any(String), '> and now?', expect.any(String)]);
  });

  it('writes --out in the format its extension names and says where', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ask-'));
    for (const [file, format] of [['a.jpg', 'jpeg'], ['a.webp', 'webp'], ['a.PNG', 'png']] as const) {
      const c = await ask('--image', PHOTO, ...MINI, '--greedy', '--out', join(dir, file), '[refer] the red circle');
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout.split('\n').at(-1)).toBe(`saved: ${join(dir, file)}`);
      expect((await sharp(join(dir, file)).metadata()).format).toBe(format);
    }
  });

  it('reads an [identify] region as the chat commands do: pixels, percentages, or #N of the previous answer', async () => {
    const grid = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '[identify] what is this {<10><20><50><60>}');
    const pixels = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '[identify] 64,96,320,288');
    const percent = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '--task', 'identify', '10%,20%,50%,60%');
    expect(JSON.parse(pixels.stdout).raw).toBe(JSON.parse(grid.stdout).raw);
    expect(JSON.parse(percent.stdout).raw).toBe(JSON.parse(grid.stdout).raw);
    // the plumbing model's detection draws no box: #1 then has nothing to point at, which is said in one line
    const followed = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '[detection] circles', '--follow-up', '[identify] #1');
    expect(followed.code).toBe(2);
    expect(followed.stderr).toMatch(/^minigpt-bot ask: There are no numbered boxes yet\./);
    const drawn = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '[identify] 64,96,320,288', '--follow-up', '[identify] #1');
    expect(JSON.parse(drawn.stdout).followUps).toHaveLength(1);
  });

  it('says in one line, exit 1, when a graph of the model folder is damaged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ask-model-'));
    for (const file of readdirSync(MINI_MODEL_DIR)) copyFileSync(join(MINI_MODEL_DIR, file), join(dir, file));
    writeFileSync(join(dir, 'decoder.onnx'), readFileSync(join(MINI_MODEL_DIR, 'decoder.onnx')).subarray(0, 1000));
    const c = await ask('--image', PHOTO, '--model', dir, 'hi');
    expect(c.code).toBe(1);
    expect(c.stderr.split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/^minigpt-bot ask: cannot load the model in .*decoder\.onnx/);
  });

  it('takes the task from --task and gives the same greedy answer as the tagged text', async () => {
    const tagged = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '[vqa] what colour is it?');
    const flagged = await ask('--image', PHOTO, ...MINI, '--greedy', '--json', '--task', 'vqa', 'what colour is it?');
    expect(JSON.parse(flagged.stdout).task).toBe('vqa');
    expect(JSON.parse(flagged.stdout).raw).toBe(JSON.parse(tagged.stdout).raw);
  });

  it('exits 2 with one line for bad arguments, a missing or corrupt image, or no model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ask-'));
    const corrupt = join(dir, 'corrupt.jpg');
    writeFileSync(corrupt, 'not really a jpeg');
    const cases: [string[], RegExp][] = [
      [['--model', MINI_MODEL_DIR, 'no image given'], /--image PATH is required/],
      [['--image', PHOTO, '--task', 'dance', 'hi'], /unknown --task 'dance'/],
      [['--image', PHOTO, '--frobnicate', 'hi'], /frobnicate/],
      [['--image', PHOTO, '--max-tokens', 'lots', 'hi'], /--max-tokens must be a positive integer/],
      [['--image', PHOTO, '--model', MINI_MODEL_DIR], /nothing to ask/],
      [['--image', PHOTO, '--model', MINI_MODEL_DIR, '--follow-up', ' ', 'hi'], /--follow-up needs a question/],
      [['--image', PHOTO, '--model', MINI_MODEL_DIR, '--out', join(dir, 'a.gif'), 'hi'], /--out must end in \.png, \.jpg, \.jpeg, \.webp/],
      [['--image', PHOTO, '--model', MINI_MODEL_DIR, '--out', join(dir, 'missing', 'a.png'), 'hi'], /cannot write .* no folder/],
      [['--image', PHOTO, '--model', MINI_MODEL_DIR, '[identify] 10,20,9000,30'], /goes past the image, which is 640×480/],
      [['--image', join(dir, 'missing.png'), '--model', MINI_MODEL_DIR, 'hi'], /cannot read image/],
      [['--image', corrupt, '--model', MINI_MODEL_DIR, 'hi'], /could not read corrupt\.jpg as an image/],
      [['--image', PHOTO, '--model', dir, 'hi'], /no model at/],
    ];
    for (const [args, message] of cases) {
      const c = await ask(...args);
      expect(c.code, args.join(' ')).toBe(2);
      expect(c.stdout).toBe('');
      expect(c.stderr.split('\n')).toHaveLength(1);
      expect(c.stderr).toMatch(message);
    }
  });
});
