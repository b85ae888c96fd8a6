import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { start, type Log } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { PLUGINS } from '../plugins/index.ts';
import { CloseCode } from './fakes/discord/gateway.ts';
import { FakeDiscord } from './fakes/discord/index.ts';
import { botFolder, fakesEnv, startBotProcess } from './helpers/bot-process.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * Close codes Discord ends a session with for good: discord.js stops reconnecting without a word, so the bot must
 * say why in one line and exit, where a supervisor restarts it or someone reads the line.
 */

const core = () => createBot({ engine: new ScriptedEngine(() => 'unused'), plugins: PLUGINS });

function recordingLog() {
  const errors: string[] = [];
  const log: Log = { debug() {}, info() {}, warn() {}, error: (_fields, message) => errors.push(String(message)) };
  return { log, errors };
}

describe('GIVEN a local Discord that closes the gateway for good', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  });

  it('WHEN the app may not use the Message Content intent THEN start fails with the fix, not a hang', async () => {
    const fake = await FakeDiscord.start({ privilegedIntents: false });
    cleanup.push(() => fake.close());
    const { log } = recordingLog();
    const config = { token: fake.token, apiUrl: fake.apiUrl, channels: [fake.channel.id] };
    await expect(start(core(), config, log)).rejects.toThrow(
      /^discord: Discord refused the Message Content intent \(close code 4014\); switch on "Message Content Intent"/,
    );
  });

  it('WHEN the token is revoked while connected THEN one error line and the fatal callback, once', async () => {
    const fake = await FakeDiscord.start();
    cleanup.push(() => fake.close());
    const { log, errors } = recordingLog();
    const fatal: Error[] = [];
    let told!: () => void;
    const fatalCalled = new Promise<void>((resolve) => (told = resolve));
    const onFatal = (error: Error) => {
      fatal.push(error);
      told();
    };
    const adapter = await start(core(), { token: fake.token, apiUrl: fake.apiUrl }, log, { onFatal });
    cleanup.push(() => adapter.stop(0));
    expect(adapter.connected()).toBe(true);

    fake.gateway.closeWith(CloseCode.AuthenticationFailed, 'Authentication failed.');
    await fatalCalled;
    expect(fatal.map((e) => e.message)).toEqual([
      'discord: Discord refused the token (close code 4004); set DISCORD_TOKEN to the bot token from the developer portal',
    ]);
    expect(errors).toEqual([fatal[0]!.message]);
    expect(adapter.connected()).toBe(false);
  });

  it('WHEN npm start’s gateway is closed with 4004 THEN the process logs it once and exits non-zero', { timeout: 120_000 }, async () => {
    const fake = await FakeDiscord.start();
    cleanup.push(() => fake.close());
    const dir = botFolder({ state: { file: 'state/bot.sqlite' } }, 'minigpt-gateway-');
    const bot = startBotProcess(dir, fakesEnv({ discord: fake }));
    cleanup.push(() => bot.kill());
    const exited = once(bot.child, 'exit');
    await bot.logLine('discord: connected');

    fake.gateway.closeWith(CloseCode.AuthenticationFailed, 'Authentication failed.');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(1);
    const errors = bot.logs().filter((line) => Number(line.level) >= 50);
    expect(errors.map((line) => line.msg)).toEqual([
      'discord: Discord refused the token (close code 4004); set DISCORD_TOKEN to the bot token from the developer portal',
    ]);
  });
});
