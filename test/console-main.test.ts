import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MINI_MODEL_DIR } from '../src/inference/model-dir.ts';
import { FakeDiscord } from './fakes/discord/index.ts';

const ROOT = join(import.meta.dirname, '..');
const PROCESS_TIMEOUT = 120_000;

/** Starts `npm start`'s entry point with Discord pointed at the local fake; stdin gets `input` and closes. */
function startBot(fake: FakeDiscord, args: string[], input: string) {
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-main-'));
  writeFileSync(join(dir, 'bot.yaml'), `model:\n  dir: ${MINI_MODEL_DIR}\n  threads: 1\ngeneration:\n  maxNewTokens: 4\n`);
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'app/main.ts'), '--config', 'bot.yaml', ...args], {
    cwd: dir,
    env: { ...process.env, DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.apiUrl },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  child.stdin.end(input);
  return { child, out: () => stdout, err: () => stderr };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 100) {
    if (waited > 60_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('GIVEN DISCORD_TOKEN is set', () => {
  let fake: FakeDiscord;
  beforeEach(async () => {
    fake = await FakeDiscord.start();
  });
  afterEach(() => fake.close());

  test('WHEN started with --console THEN Discord connects and the terminal chat answers too; SIGTERM stops both', async () => {
    const bot = startBot(fake, ['--console'], '/help\n');
    await until(() => fake.gateway.received.some((p) => p.op === 2), 'the gateway IDENTIFY');
    await until(() => bot.out().includes('/identify <box>'), 'the console answer');
    expect(fake.commands.get('global')?.map((c) => c.name)).toContain('refer');
    expect(bot.err()).not.toContain(fake.token);
    bot.child.kill('SIGTERM');
    const [code] = await once(bot.child, 'exit');
    expect(code).toBe(0);
  }, PROCESS_TIMEOUT);

  test('WHEN started without --console THEN only Discord runs', async () => {
    const bot = startBot(fake, [], '/help\n');
    await until(() => bot.err().includes('"msg":"discord: connected"'), 'Discord to connect');
    // A terminal chat would start right after the chat adapters and answer at once: the whole run's output shows it.
    bot.child.kill('SIGTERM');
    await once(bot.child, 'exit');
    expect(bot.out()).toBe('');
  }, PROCESS_TIMEOUT);
});
