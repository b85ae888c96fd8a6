import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FakeDiscord } from './fakes/discord/index.ts';
import { botFolder, CONFIG_FILE, fakesEnv, killBotProcesses, startBotProcess, until } from './helpers/bot-process.ts';

const PROCESS_TIMEOUT = 120_000;

/** Starts `npm start` with Discord pointed at the local fake; stdin gets `input` and closes. */
function startBot(fake: FakeDiscord, args: string[], input: string) {
  const dir = botFolder({ generation: { maxNewTokens: 4 } }, 'minigpt-main-');
  return startBotProcess(dir, fakesEnv({ discord: fake }), { args: ['--config', CONFIG_FILE, ...args], input });
}

describe('GIVEN DISCORD_TOKEN is set', () => {
  let fake: FakeDiscord;
  beforeEach(async () => {
    fake = await FakeDiscord.start();
  });
  afterEach(async () => {
    await killBotProcesses();
    await fake.close();
  });

  test('WHEN started with --console THEN Discord connects and the terminal chat answers too; SIGTERM stops both', async () => {
    const bot = startBot(fake, ['--console'], '/help\n');
    await until(() => fake.gateway.received.some((p) => p.op === 2), 'the gateway IDENTIFY', 60_000);
    await until(() => bot.out().includes('/identify <box>'), 'the console answer', 60_000);
    expect(fake.commands.get('global')?.map((c) => c.name)).toContain('refer');
    expect(bot.err()).not.toContain(fake.token);
    expect(await bot.terminate()).toBe(0);
  }, PROCESS_TIMEOUT);

  test('WHEN started without --console THEN only Discord runs', async () => {
    const bot = startBot(fake, [], '/help\n');
    await bot.logLine('discord: connected');
    // A terminal chat would start right after the chat adapters and answer at once: the whole run's output shows it.
    await bot.terminate();
    expect(bot.out()).toBe('');
  }, PROCESS_TIMEOUT);
});
