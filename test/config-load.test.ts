import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';

const run = promisify(execFile);
/** Each CLI run starts Node and compiles TypeScript: seconds on a shared machine. */
const CLI_TIMEOUT = 30_000;
const CLI = join(import.meta.dirname, '..', 'bin', 'minigpt-bot.js');

function folderWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-config-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('GIVEN no config file', () => {
  test('THEN every default applies and nothing is enabled', () => {
    const { config, file } = loadConfig({ cwd: folderWith({}), env: {} });
    expect(file).toBeUndefined();
    expect(config.model).toEqual({ dir: DEFAULT_MODEL_DIR, device: 'cpu' });
    expect(config.limits).toMatchObject({ maxQueue: 20, perUser: { requests: 20, windowSeconds: 60 } });
    expect(config.discord).toEqual({});
    expect(config.slack).toEqual({});
  });
});

describe('GIVEN minigpt-bot.yaml in the working folder', () => {
  const dir = folderWith({
    'minigpt-bot.yaml': 'model:\n  dir: models/mine\n  device: cuda\nlimits:\n  maxQueue: 5\nconsole:\n  outDir: answers\ndiscord:\n  channels: ["123"]\n',
  });

  test('THEN it is read, relative paths resolve from its folder, and the secrets come from the environment', () => {
    const { config, file } = loadConfig({ cwd: dir, env: { DISCORD_TOKEN: 'tok', SLACK_BOT_TOKEN: 'xoxb-1' } });
    expect(file).toBe(join(dir, 'minigpt-bot.yaml'));
    expect(config.model).toEqual({ dir: join(dir, 'models/mine'), device: 'cuda' });
    expect(config.limits.maxQueue).toBe(5);
    expect(config.limits.perUser.requests).toBe(20);
    expect(config.console.outDir).toBe(join(dir, 'answers'));
    expect(config.discord).toEqual({ channels: ['123'], token: 'tok' });
    expect(config.slack).toEqual({ botToken: 'xoxb-1' });
  });

  test('WHEN --config names a JSON file THEN that one is read instead', () => {
    const other = folderWith({ 'bot.json': '{"conversations": {"maxLive": 3}}' });
    expect(loadConfig({ cwd: dir, path: join(other, 'bot.json'), env: {} }).config.conversations.maxLive).toBe(3);
  });
});

describe('GIVEN a broken config', () => {
  test.each([
    ['limits:\n  perUser:\n    request: 3\n', /bot\.yaml: limits\.perUser\.request: unknown key/],
    ['model:\n  device: tpu\n', /bot\.yaml: model\.device: /],
    ['limits:\n  maxQueue: two\n', /bot\.yaml: limits\.maxQueue: .*number/],
    ['model:\n  cachedConversations: 0\n', /bot\.yaml: model\.cachedConversations: /],
    ['limits:\n  maxConcurrent: 4\n', /bot\.yaml: limits\.maxConcurrent: unknown key \(requests answered at once are model\.maxBatch now\)/],
    ['model:\n  maxBatch: 0\n', /bot\.yaml: model\.maxBatch: /],
    ['discord:\n  token: abc\n', /bot\.yaml: discord\.token: secrets belong in the environment \(DISCORD_TOKEN\)/],
    ['model: [\n', /bot\.yaml: not valid YAML or JSON/],
    ['- just\n- a list\n', /bot\.yaml: the file must hold a mapping/],
  ])('WHEN it holds %j THEN the error names the key', (text, expected) => {
    const dir = folderWith({ 'bot.yaml': text });
    expect(() => loadConfig({ cwd: dir, path: 'bot.yaml', env: {} })).toThrow(expected);
  });

  test('WHEN a secret sits in the file beside other mistakes THEN every problem is reported at once', () => {
    const dir = folderWith({ 'bot.yaml': 'discord:\n  token: abc\nlimits:\n  maxQueue: -1\nmodel:\n  threads: 0\nfoo: 1\n' });
    let message = '';
    try {
      loadConfig({ cwd: dir, path: 'bot.yaml', env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n').map((line) => line.replace(/^.*bot\.yaml: /, ''));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('discord.token: secrets belong in the environment (DISCORD_TOKEN), not in the file');
    expect(lines.slice(1).map((line) => line.split(':')[0]).sort()).toEqual(['foo', 'limits.maxQueue', 'model.threads']);
  });

  test('WHEN --config names a missing file THEN it says so', () => {
    expect(() => loadConfig({ cwd: folderWith({}), path: 'nope.yaml', env: {} })).toThrow('nope.yaml: no such config file');
  });
});

describe('GIVEN `minigpt-bot config check`', () => {
  test('WHEN the file is fine THEN it exits 0 and says what would start', async () => {
    const dir = folderWith({ 'ok.yaml': 'plugins:\n  caption:\n    prompt: describe it\n' });
    const { stdout } = await run(process.execPath, [CLI, 'config', 'check', 'ok.yaml'], { cwd: dir, env: { ...process.env, DISCORD_TOKEN: 'secret-token-123' } });
    expect(stdout).toMatch(/^ok: .*ok\.yaml$/m);
    expect(stdout).toMatch(/^adapters: discord$/m);
    expect(stdout).not.toContain('secret-token-123');
  }, CLI_TIMEOUT);

  test('WHEN the working folder has a .env THEN its secrets are read, and the environment wins over it', async () => {
    const dir = folderWith({ '.env': 'DISCORD_TOKEN=from-dot-env\nMINIGPT_DEVICE=webgpu\n' });
    const env = { PATH: process.env.PATH, MINIGPT_DEVICE: 'cuda' };
    const { stdout } = await run(process.execPath, [CLI, 'config', 'check'], { cwd: dir, env });
    expect(stdout).toMatch(/^adapters: discord$/m);
    expect(stdout).toMatch(/^model: .* on cuda/m);
    expect(stdout).not.toContain('from-dot-env');
  }, CLI_TIMEOUT);

  test('WHEN an enabled adapter is missing a setting or a token set is half filled THEN every problem is named, exit 1', async () => {
    const dir = folderWith({});
    const slackHttp = await run(process.execPath, [CLI, 'config', 'check'], { cwd: dir, env: { PATH: process.env.PATH, SLACK_BOT_TOKEN: 'xoxb-1' } })
      .catch((e: { code: number; stderr: string }) => e);
    expect(slackHttp).toMatchObject({ code: 1, stderr: 'slack: SLACK_SIGNING_SECRET: is required for the HTTP receiver (or set an app token for Socket Mode)\n' });
    const half = await run(process.execPath, [CLI, 'config', 'check'], { cwd: dir, env: { PATH: process.env.PATH, SLACK_APP_TOKEN: 'xapp-1', DISCORD_TOKEN: 't' } })
      .catch((e: { code: number; stderr: string }) => e);
    expect(half).toMatchObject({ code: 1, stderr: expect.stringContaining('slack: SLACK_BOT_TOKEN is missing, though SLACK_APP_TOKEN is set') });
  }, CLI_TIMEOUT);

  test('WHEN a plugin section is wrong THEN it exits 1 naming plugins.<name>.<key>', async () => {
    const dir = folderWith({ 'bad.yaml': 'plugins:\n  caption:\n    promt: describe it\n' });
    const failed = await run(process.execPath, [CLI, 'config', 'check', 'bad.yaml'], { cwd: dir }).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringMatching(/plugins\.caption: .*promt/) });
  }, CLI_TIMEOUT);
});
