import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';

const ROOT = join(import.meta.dirname, '..');
const PROCESS_TIMEOUT = 120_000;

/** `npm start` with `input` piped in and only the environment given (no tokens). */
function start(dir: string, input: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'app/main.ts'), '--config', 'bot.yaml'],
      { cwd: dir, env: { PATH: process.env.PATH!, ...env }, timeout: PROCESS_TIMEOUT },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

function folder(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-startup-'));
  writeFileSync(join(dir, 'bot.yaml'), `model:\n  dir: ${MINI_MODEL_DIR}\nstate:\n  file: ':memory:'\n${yaml}`);
  return dir;
}

describe('GIVEN a port another program holds', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  test('WHEN metrics are asked for on it THEN start-up says so in one line and exits 1', async () => {
    const { code, stdout, stderr } = await start(folder('metrics:\n  enabled: true\n'), '/vqa hi\n', { METRICS_PORT: String(port) });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `minigpt-bot: metrics.port: cannot listen on 127.0.0.1:${port} (another program uses it); set METRICS_PORT to a free port, or metrics.enabled: false`,
    ]);
  }, PROCESS_TIMEOUT);

  test('WHEN only the terminal chat runs THEN no port is opened and it answers', async () => {
    const { code, stdout, stderr } = await start(folder(''), '/vqa hi\n', { METRICS_PORT: String(port) });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^image: .*sample\.png/);
    expect(stderr).not.toMatch(/EADDRINUSE|metrics/);
  }, PROCESS_TIMEOUT);
});

describe('GIVEN a state file that cannot be opened', () => {
  test('THEN start-up names the setting in one line and exits instead of hanging', async () => {
    const dir = folder('');
    writeFileSync(join(dir, 'bot.yaml'), `model:\n  dir: ${MINI_MODEL_DIR}\nstate:\n  file: ${join(dir, 'bot.yaml', 'state.sqlite')}\n`);
    const { code, stderr } = await start(dir, '/vqa hi\n');
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^minigpt-bot: state\.file: cannot open .*state\.sqlite .*set MINIGPT_STATE_FILE or state\.file to a writable path/);
  }, PROCESS_TIMEOUT);
});

describe('GIVEN a model folder whose model.json does not match its graphs', () => {
  test('THEN start-up fails its first answer in one line and exits 1, before any user asks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minigpt-mismatch-'));
    for (const file of readdirSync(MINI_MODEL_DIR)) copyFileSync(join(MINI_MODEL_DIR, file), join(dir, file));
    const info = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...info, vision: { ...info.vision, image_size: 224 } }));
    writeFileSync(join(dir, 'bot.yaml'), `model:\n  dir: ${dir}\nstate:\n  file: ':memory:'\n`);
    const { code, stdout, stderr } = await start(dir, '/vqa hi\n');
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^minigpt-bot: model\.dir: the model in .* failed its first answer \(vision\.onnx failed/);
    expect(stderr).toMatch(/check that its model\.json matches its graphs, or export it again\n$/);
  }, PROCESS_TIMEOUT);
});
