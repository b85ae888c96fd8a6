import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['bin/minigpt-bot.js', 'parse', ...args]);

describe('minigpt-bot parse', () => {
  it('GIVEN a detection answer with --json THEN it prints text and grid entities as one object', async () => {
    const { stdout } = await cli('<p>sofas</p> {<1><52><38><90>}<delim>{<60><50><99><92>}', '--json');
    expect(JSON.parse(stdout)).toEqual({ text: 'sofas', entities: [{ phrase: 'sofas', boxes: [[1, 52, 38, 90], [60, 50, 99, 92]] }] });
  });

  it('GIVEN a grounded caption and --size THEN each numbered box is shown on the grid and in pixels', async () => {
    const { stdout } = await cli('a <p>red circle</p> {<10><20><30><40>} left of {<50><50><60><60>', '--size', '200x100');
    expect(stdout.trim().split('\n')).toEqual(['text: a red circle left of', '#1 red circle  grid [10, 20, 30, 40]  pixels [20, 20, 60, 40]']);
  });

  it.each([
    [[], /missing RAW ANSWER/],
    [['a', 'b'], /quote RAW ANSWER as one argument/],
    [['x', '--bogus'], /^minigpt-bot parse: Unknown option '--bogus' \(usage: minigpt-bot parse .*; more with --help\)$/],
    [['x', '--size', '640by480'], /--size must look like 640x480/],
  ])('GIVEN bad arguments %j THEN one line on stderr and exit code 2', async (args, message) => {
    const failure = await cli(...args).then(() => null, (err: { code: number; stderr: string }) => err);
    expect(failure?.code).toBe(2);
    expect(failure!.stderr.trim().split('\n')).toHaveLength(1);
    expect(failure!.stderr.trim()).toMatch(message);
  });
});
