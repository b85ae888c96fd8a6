import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type DiscordAdapter } from '../adapters/discord/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { FakeDiscord, user } from './fakes/discord/index.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/** Discord's 429s, sent as Discord sends them (Retry-After, the bucket's headers), met by the real discord.js. */

const errors: object[] = [];
const log = { debug() {}, info() {}, warn: (f: object) => void errors.push(f), error: (f: object) => void errors.push(f) };

describe('GIVEN a Discord that rate-limits the bot\'s replies', () => {
  let fake: FakeDiscord;
  let adapter: DiscordAdapter;

  beforeAll(async () => {
    fake = await FakeDiscord.start();
    const core = createBot({ engine: new ScriptedEngine(() => 'a green triangle'), plugins: PLUGINS });
    adapter = await start(core, { token: fake.token, apiUrl: fake.apiUrl }, log);
  });

  afterAll(async () => {
    await adapter?.stop();
    await fake?.close();
  });

  it('WHEN the reply is answered 429 THEN it is sent again after Retry-After, once, with no error', async () => {
    const posts = /^\/channels\/\d+\/messages$/;
    fake.fail('POST', posts, { status: 429, retryAfter: 1 }, 1);
    const asked = fake.userMessage({
      channel: fake.channel,
      author: user('ivy'),
      content: `<@${fake.botUser.id}> what is it?`,
      mentions: [fake.botUser],
      attachments: [fake.attachment(drawScene(4).png, 'scene.png', 'image/png')],
    });
    const replies = () => [...fake.messages.values()].filter((m) => m.message_reference?.message_id === asked.id);
    await fake.waitFor(() => (replies().some((m) => m.content.includes('a green triangle')) ? true : undefined), 10_000);
    expect(replies()).toHaveLength(1);
    expect(fake.rateLimited).toHaveLength(1);
    const sent = fake.requests.filter((r) => r.method === 'POST' && posts.test(r.path));
    expect(sent.length).toBeGreaterThanOrEqual(2);
    // The one after the 429 waited the second Discord asked for.
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(950);
    expect(errors).toEqual([]);
  });
});
