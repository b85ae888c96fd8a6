import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { start, type DiscordAdapter, type Log } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord, user, type FakeMessage } from './fakes/discord/index.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * What the bot can see on Discord without the privileged Message Content intent, and who may ask: the real
 * discord.js client against a local Discord that, like Discord, blanks other people's messages that do not
 * mention the bot. The engine names the size of the image it was asked about, so a wrong image shows.
 */

const errors: object[] = [];
const log: Log = { debug: () => {}, info: () => {}, warn: (f) => errors.push(f), error: (f) => errors.push(f) };

let fake: FakeDiscord;
let engine: ScriptedEngine;
let adapter: DiscordAdapter;

const image = async (width: number, height: number) =>
  new Uint8Array(await sharp({ create: { width, height, channels: 3, background: '#3070c0' } }).png().toBuffer());
let wide: Uint8Array;
let tall: Uint8Array;

beforeAll(async () => {
  [wide, tall] = await Promise.all([image(320, 200), image(120, 260)]);
  fake = await FakeDiscord.start();
  mention = `<@${fake.botUser.id}>`;
  engine = new ScriptedEngine(async (request) => {
    const meta = await sharp(request.image).metadata();
    return `a ${meta.width}x${meta.height} picture`;
  });
  const settings = { access: { blockRoles: [fake.guild.roles[1]!.id] }, conversations: { scope: 'thread' as const } };
  const core = createBot({ engine, plugins: PLUGINS, settings });
  adapter = await start(core, { token: fake.token, apiUrl: fake.apiUrl, editIntervalMs: 1000 }, log);
});

afterEach(() => {
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await adapter?.stop();
  await fake?.close();
});

let mention = '';

/** The bot's reply to `message` once it matches `pattern` (edits included); fails after the fake's wait limit. */
function replyTo(message: FakeMessage, pattern: RegExp): Promise<string> {
  return fake.waitFor(() => {
    const reply = [...fake.messages.values()].find(
      (m) => m.author.id === fake.botUser.id && m.message_reference?.message_id === message.id && pattern.test(m.content),
    );
    return reply?.content;
  }, 10_000);
}

const repliesTo = (message: FakeMessage) =>
  [...fake.messages.values()].filter((m) => m.message_reference?.message_id === message.id);

function asked(fields: { content: string; attachments?: Uint8Array; replyTo?: FakeMessage; roles?: string[]; author?: ReturnType<typeof user> }) {
  const attachments = fields.attachments ? [fake.attachment(fields.attachments, 'photo.png', 'image/png')] : [];
  return fake.userMessage({
    channel: fake.channel,
    author: fields.author ?? user('alice'),
    content: fields.content,
    mentions: fields.content.includes(mention) ? [fake.botUser] : [],
    attachments,
    ...(fields.replyTo ? { replyTo: fields.replyTo } : {}),
    ...(fields.roles ? { roles: fields.roles } : {}),
  });
}

describe('GIVEN a bot without the Message Content intent', () => {
  it('WHEN a mention replies to someone else’s image THEN it says it cannot see it, never another image', async () => {
    const alice = user('alice');
    const first = asked({ content: `${mention} what is this?`, attachments: wide, author: alice });
    expect(await replyTo(first, /picture/)).toBe('a 320x200 picture');
    const bobs = asked({ content: 'look at my drawing', attachments: tall, author: user('bob') });
    const before = engine.requests.length;
    // Alice's channel conversation already has the wide image; Bob's message arrives blank.
    const reply = asked({ content: `${mention} and this one?`, replyTo: bobs, author: alice });
    expect(await replyTo(reply, /cannot see/)).toMatch(/"Ask about this image"/);
    expect(repliesTo(reply)).toHaveLength(1);
    expect(engine.requests.length).toBe(before);
  });

  it('WHEN someone uses "Ask about this image" on any message THEN a modal asks the question about that image', async () => {
    const bobs = asked({ content: 'my drawing', attachments: tall, author: user('bob') });
    const carol = user('carol');
    const menu = fake.messageCommandPayload({ name: 'Ask about this image', user: carol, target: bobs });
    fake.interaction(menu);
    const modal = await fake.waitFor(() => fake.modals.get(menu.token), 10_000);
    expect(modal).toMatchObject({ title: 'Ask about this image', custom_id: expect.stringMatching(/^ask-image:/) });
    expect(JSON.stringify(modal.components)).toMatch(/"max_length":1000/);

    const since = Date.now();
    const submit = fake.modalSubmitPayload({ user: carol, customId: modal.custom_id, values: { question: 'what is it?' } });
    fake.interaction(submit);
    const edit = await fake.waitForRequest(
      (r) => r.path.includes(submit.token) && r.method === 'PATCH' && /picture/.test(String(r.body?.content ?? '')),
      since,
    );
    expect(edit.body.content).toMatch(/a 120x260 picture/);
    expect(engine.requests.at(-1)!.question).toBe('what is it?');
  });

  it('WHEN the menu points at a message without an image, or a modal outlived its image THEN only the asker is told', async () => {
    const plain = asked({ content: `${mention} hello`, author: user('dave') });
    const menu = fake.messageCommandPayload({ name: 'Ask about this image', user: user('erin'), target: plain });
    fake.interaction(menu);
    const refused = await fake.waitForRequest((r) => r.path.includes(menu.token) && r.path.endsWith('/callback'));
    expect(refused.body).toMatchObject({ type: 4, data: { content: expect.stringMatching(/no image/), flags: 64 } });

    const stale = fake.modalSubmitPayload({ user: user('erin'), customId: 'ask-image:123', values: { question: 'hm?' } });
    fake.interaction(stale);
    const expired = await fake.waitForRequest((r) => r.path.includes(stale.token) && r.path.endsWith('/callback'));
    expect(expired.body).toMatchObject({ type: 4, data: { content: expect.stringMatching(/Ask about this image/), flags: 64 } });
  });

  it('WHEN a mention replies to the bot’s own answer THEN it continues that chain’s conversation', async () => {
    const question = asked({ content: `${mention} what is this?`, attachments: tall });
    await replyTo(question, /picture/);
    const answer = repliesTo(question)[0]!;
    const more = asked({ content: `${mention} tell me more`, replyTo: answer });
    expect(await replyTo(more, /picture/)).toBe('a 120x260 picture');
    expect(engine.requests.at(-1)!.history).toHaveLength(1);
  });
});

describe('GIVEN access lists by role, conversations per reply chain, and other bots about', () => {
  it('WHEN a member of a blocked role asks THEN the bot refuses; a member of another role is answered', async () => {
    const [artists, muted] = fake.guild.roles;
    const blocked = asked({ content: `${mention} what is this?`, attachments: wide, roles: [muted!.id] });
    expect(await replyTo(blocked, /allowed/)).toBe('You are not allowed to use this bot.');
    const artist = asked({ content: `${mention} what is this?`, attachments: wide, roles: [artists!.id] });
    expect(await replyTo(artist, /picture/)).toBe('a 320x200 picture');
  });

  it('WHEN two mentions start separate chains THEN each keeps its own image', async () => {
    const one = asked({ content: `${mention} first`, attachments: wide });
    await replyTo(one, /picture/);
    const two = asked({ content: `${mention} second`, attachments: tall });
    await replyTo(two, /picture/);
    const answer = repliesTo(one)[0]!;
    // A reply to the bot's answer in the first chain: no image of its own, so the chain's image is the one.
    const again = asked({ content: `${mention} again?`, replyTo: answer });
    expect(await replyTo(again, /picture/)).toBe('a 320x200 picture');
    expect(engine.requests.at(-1)!.history).toHaveLength(1);
  });

  it('WHEN another bot mentions this one THEN it is ignored', async () => {
    const robot = asked({ content: `${mention} what is this?`, attachments: wide, author: user('robot', true) });
    const human = asked({ content: `${mention} hi`, attachments: wide });
    // Events are handled in order: once the person is answered, the bot's mention was passed over.
    await replyTo(human, /picture/);
    expect(repliesTo(robot)).toEqual([]);
  });

  it('WHEN a mention is longer than 1,000 characters THEN it is refused with the limit', async () => {
    const long = asked({ content: `${mention} ${'why '.repeat(300)}`, attachments: wide });
    expect(await replyTo(long, /limit/)).toBe('Your message is 1199 characters long; the limit is 1000. Please shorten it.');
  });

  it('WHEN a refusal repeats typed markdown THEN it shows as typed, not as a masked link', async () => {
    const typed = asked({ content: `${mention} /identify box=[free](https://evil.test)`, attachments: wide });
    const refusal = await replyTo(typed, /could not read/);
    expect(refusal).toContain('I could not read "\\[free](https://evil.test)" as a box.');
  });
});
