import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from '../app/cli/commands/ask.ts';
import { drawScene } from './helpers/scene.ts';

/** `minigpt-bot ask --json` on the shipped default model (no --model: the default), captured in-process. */
async function askDefault(image: string, text: string): Promise<{ code: number; answer: any }> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
  const code = await run(['--image', image, '--json', text]);
  vi.restoreAllMocks();
  return { code, answer: out.length ? JSON.parse(out.join('\n')) : undefined };
}

afterEach(() => vi.restoreAllMocks());

// The shipped model's accuracy is measured by its held-out evaluation (models/README.md); these checks hold for
// any model of the project: it loads with no options, speaks the task's answer format, and boxes are pixels.
describe('the embedded default model', () => {
  const scene = drawScene(11);
  const image = join(mkdtempSync(join(tmpdir(), 'default-model-')), 'scene.png');
  writeFileSync(image, scene.png);

  it('GIVEN [refer] THEN it answers one box inside the image, in pixels', async () => {
    const { code, answer } = await askDefault(image, `[refer] the ${scene.objects[0]!.colour} ${scene.objects[0]!.shape}`);
    expect(code).toBe(0);
    expect(answer.task).toBe('refer');
    expect(answer.raw).toMatch(/^\{<\d+><\d+><\d+><\d+>\}/);
    const [x1, y1, x2, y2] = answer.entities[0].boxes[0];
    expect(0 <= x1 && x1 < x2 && x2 <= scene.width && 0 <= y1 && y1 < y2 && y2 <= scene.height).toBe(true);
  });

  it('GIVEN [caption] THEN it describes the scene in the words of its world', async () => {
    const { answer } = await askDefault(image, '[caption] briefly describe this image.');
    expect(answer.text).toMatch(/\b(red|green|blue|yellow|purple|orange) (circle|square|triangle|star)s?\b/);
    expect(answer.entities).toEqual([]);
  });
});
