import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { botFolder, type BotConfig, runBotProcess, writeBotConfig } from './helpers/bot-process.ts';
import { takenPort } from './helpers/taken-port.ts';

const PROCESS_TIMEOUT = 120_000;

/** What every start-up here is typed on the terminal. */
const ASK = { input: '/vqa hi\n' };

/** A folder whose bot.yaml keeps no state, with `config` on top. */
const folder = (config: BotConfig = {}) => botFolder({ state: { file: ':memory:' }, ...config }, 'minigpt-startup-');

describe('GIVEN a port another program holds', () => {
  const port = takenPort();

  test('WHEN metrics are asked for on it THEN start-up says so in one line and exits 1', async () => {
    const dir = folder({ metrics: { enabled: true } });
    const { code, stdout, stderr } = await runBotProcess(dir, { METRICS_PORT: String(port()) }, ASK);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      `minigpt-bot: metrics.port: cannot listen on 127.0.0.1:${port()} (another program uses it); ` +
        'set METRICS_PORT to a free port, or metrics.enabled: false',
    ]);
  }, PROCESS_TIMEOUT);

  test('WHEN only the terminal chat runs THEN no port is opened and it answers', async () => {
    const { code, stdout, stderr } = await runBotProcess(folder(), { METRICS_PORT: String(port()) }, ASK);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^image: .*sample\.png/);
    expect(stderr).not.toMatch(/EADDRINUSE|metrics/);
  }, PROCESS_TIMEOUT);
});

describe('GIVEN a state file that cannot be opened', () => {
  test('THEN start-up names the setting in one line and exits instead of hanging', async () => {
    const dir = folder();
    writeBotConfig(dir, { state: { file: join(dir, 'bot.yaml', 'state.sqlite') } });
    const { code, stderr } = await runBotProcess(dir, {}, ASK);
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
    writeBotConfig(dir, { model: { dir }, state: { file: ':memory:' } });
    const { code, stdout, stderr } = await runBotProcess(dir, {}, ASK);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^minigpt-bot: model\.dir: the model in .* failed its first answer \(vision\.onnx failed/);
    expect(stderr).toMatch(/check that its model\.json matches its graphs, or export it again\n$/);
  }, PROCESS_TIMEOUT);
});
