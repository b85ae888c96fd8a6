import { afterEach, describe, expect, it } from 'vitest';
import { type ConfigInput, type DiscordAdapter, type Log, start } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { PLUGINS } from '../plugins/index.ts';
import type { Shard } from './fakes/discord/gateway.ts';
import { FakeDiscord, type FakeChannel, user } from './fakes/discord/index.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * `discord.shards` through the real discord.js against a local Discord that shards as Discord does: a guild's
 * events reach only the shard `(guild_id >> 22) % count`, DMs only shard 0, so a bot missing a shard never hears
 * the guilds on it.
 */

const scene = drawScene({ width: 64, height: 48, objects: [{ colour: 'red', shape: 'circle', box: [8, 8, 40, 40] }] });
const answer = (request: GenerateRequest): string => `shard test answer to ${request.question}`;
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };

describe('GIVEN a local Discord whose guild is served by one shard of several', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  });

  async function connect(options: Parameters<typeof FakeDiscord.start>[0], shards: ConfigInput['shards']) {
    const fake = await FakeDiscord.start(options);
    cleanup.push(() => fake.close());
    const bot = createBot({ engine: new ScriptedEngine(answer), plugins: PLUGINS });
    const config = { token: fake.token, apiUrl: fake.apiUrl, registerCommands: false, shards };
    const adapter: DiscordAdapter = await start(bot, config, quiet);
    cleanup.push(() => adapter.stop(0));
    return { fake, adapter };
  }

  /** Mentions the bot with an image in `channel` and waits for the answer posted there. */
  async function ask(fake: FakeDiscord, channel: FakeChannel, question: string): Promise<string> {
    const since = Date.now();
    const attachments = [fake.attachment(scene.png, 'scene.png', 'image/png')];
    const content = channel.guild_id === undefined ? question : `<@${fake.botUser.id}> ${question}`;
    const mentions = channel.guild_id === undefined ? [] : [fake.botUser];
    fake.userMessage({ channel, author: user('alice'), content, mentions, attachments });
    const posted = await fake.waitForRequest(
      (r) => r.path === `/channels/${channel.id}/messages` && /shard test answer/.test(r.body?.content ?? ''),
      since,
    );
    return posted.body.content as string;
  }

  const sorted = (shards: Shard[]): Shard[] => [...shards].sort((a, b) => a[0] - b[0]);

  it('WHEN discord.shards is 2 THEN both shards identify, and a guild on shard 1 and a DM are answered', async () => {
    const { fake, adapter } = await connect({ guildShard: [1, 2], maxConcurrency: 2 }, 2);
    expect(sorted(fake.gateway.identified())).toEqual([[0, 2], [1, 2]]);
    expect(adapter.connected()).toBe(true);

    expect(await ask(fake, fake.channel, 'what is in the guild?')).toBe('shard test answer to what is in the guild?');
    const dm: FakeChannel = { id: `1${String(Date.now()).padStart(17, '0')}`, type: 1 };
    expect(await ask(fake, dm, 'and here?')).toBe('shard test answer to and here?');
  });

  it('WHEN discord.shards is auto THEN the count comes from GET /gateway/bot and every shard identifies', async () => {
    const { fake } = await connect({ shards: 3, requiredShards: 3, guildShard: [2, 3], maxConcurrency: 3 }, 'auto');
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === '/gateway/bot')).toBe(true);
    expect(sorted(fake.gateway.identified())).toEqual([[0, 3], [1, 3], [2, 3]]);

    expect(await ask(fake, fake.channel, 'who hears this?')).toBe('shard test answer to who hears this?');
  });

  it('WHEN discord.shards is left out THEN one shard serves every guild, as before', async () => {
    const { fake } = await connect({ shards: 2, guildShard: [1, 2] }, undefined);
    expect(fake.gateway.identified()).toEqual([[0, 1]]);
    expect(await ask(fake, fake.channel, 'still one?')).toBe('shard test answer to still one?');
  });
});

describe('GIVEN a bot with more guilds than one shard may carry', () => {
  it('WHEN discord.shards is left at 1 THEN start fails with one line naming the fix, not a hang', async () => {
    const fake = await FakeDiscord.start({ shards: 2, requiredShards: 2 });
    try {
      const bot = createBot({ engine: new ScriptedEngine(answer), plugins: PLUGINS });
      const config = { token: fake.token, apiUrl: fake.apiUrl, registerCommands: false };
      await expect(start(bot, config, quiet)).rejects.toThrow(
        /^discord: Discord requires more shards \(close code 4011\); set discord\.shards to auto/,
      );
    } finally {
      await fake.close();
    }
  });
});
