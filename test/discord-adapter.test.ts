import { PermissionFlagsBits } from 'discord.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { start, type DiscordAdapter, type Log } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { PALETTE } from '../src/render/palette.ts';
import { PLUGINS } from '../plugins/index.ts';
import { FakeDiscord, user, type FakeUser, type RecordedRequest } from './fakes/discord/index.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene, type Scene } from './helpers/scene.ts';
import { gate, ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * The Discord adapter driven through the real discord.js client against a local Discord, with the real framework
 * and plugins. The engine is scripted (it answers what the test says), so these tests are about what Discord
 * users see: acknowledgements, edits, uploads, refusals, conversations.
 */

const RATE_LIMIT = 3;
const scene: Scene = drawScene({
  width: 320,
  height: 240,
  objects: [
    { colour: 'red', shape: 'circle', box: [20, 30, 100, 110] },
    { colour: 'blue', shape: 'square', box: [180, 120, 280, 220] },
  ],
});

/** While set, every answer waits for it: requests behind a held one stay in the queue. */
let hold: Promise<void> | undefined;

/** Answers a referring expression with the box of the scene object it names, like a model that got it right. */
async function scriptedAnswer(request: GenerateRequest): Promise<string> {
  await hold;
  if (request.task === 'refer') {
    const target = scene.objects.find((o) => request.question.includes(o.colour)) ?? scene.objects[0]!;
    return formatBox(pixelsToGrid(target.box, scene));
  }
  if (request.question.includes('long')) return longAnswer;
  return `answer ${request.history.length + 1} about the picture`;
}
const longAnswer = [
  'Here is a long answer.',
  '```ts',
  ...Array.from({ length: 120 }, (_, i) => `const value${i} = ${i}; // a line of code that takes some room`),
  '```',
  'And that was all.',
].join('\n');

/** What a request next in line is told. */
const FIRST_IN_LINE = 'Waiting in the queue: you are #1.';

const errors: object[] = [];
const log: Log = { debug: () => {}, info: () => {}, warn: (fields) => errors.push(fields), error: (fields) => errors.push(fields) };

let fake: FakeDiscord;
let engine: ScriptedEngine;
let adapter: DiscordAdapter;
let core: ReturnType<typeof createBot>;
const bot = () => core;

beforeAll(async () => {
  fake = await FakeDiscord.start();
  engine = new ScriptedEngine(scriptedAnswer);
  core = createBot({ engine, plugins: PLUGINS, settings: { limits: { perUser: { requests: RATE_LIMIT, windowSeconds: 600 } } } });
  adapter = await start(core, { token: fake.token, apiUrl: fake.apiUrl, channels: [fake.channel.id], editIntervalMs: 1000 }, log);
});

afterEach(() => {
  // A test that failed half-way leaves no fault behind for the next.
  fake.clearFaults();
  // Every REST call the adapter made was one the fake (like Discord) accepted.
  expect(errors).toEqual([]);
});

afterAll(async () => {
  await adapter?.stop();
  await fake?.close();
});

const png = (name = 'scene.png') => fake.attachment(scene.png, name, 'image/png');
const byToken = (token: string) => (r: RecordedRequest) => r.path.includes(`/${token}`);

/** Runs a slash command as `who` and waits for the reply's final edit (the one that carries everything). */
async function slash(who: FakeUser, name: string, options: { name: string; type: number; value: string | number }[], attachments = [png()]) {
  const since = Date.now();
  const interaction = fake.interactionPayload({ name, user: who, options, attachments });
  fake.interaction(interaction);
  return { interaction, since };
}

describe('discord adapter', () => {
  it('answers /refer with a deferred ack, then an edit carrying a PNG boxed around the named object', async () => {
    const alice = user('alice');
    const attachment = png();
    const { interaction, since } = await slash(alice, 'refer', [
      { name: 'phrase', type: 3, value: 'the blue square' },
      { name: 'image', type: 11, value: attachment.id },
    ], [attachment]);
    const edit = await fake.waitForRequest((r) => byToken(interaction.token)(r) && r.method === 'PATCH' && r.files.length > 0, since);
    const forThis = fake.requests.filter((r) => r.at >= since && byToken(interaction.token)(r));
    expect(forThis[0]).toMatchObject({ method: 'POST', path: expect.stringMatching(/\/callback$/), body: { type: 5 } });
    expect(forThis[0]!.at - since).toBeLessThan(3000);
    expect(edit.files[0]!.contentType).toBe('image/png');
    const drawn = findDrawnBox(edit.files[0]!.bytes, PALETTE[0]!.rgb);
    const blue = scene.objects.find((o) => o.colour === 'blue')!.box;
    expect(drawn).not.toBeNull();
    drawn!.forEach((v, i) => {
      expect(Math.abs(v - blue[i]!)).toBeLessThanOrEqual(6);
    });
    expect(edit.body.content).toMatch(/blue square/);
  });

  it('keeps the uploaded image under the interaction’s attachment size limit', async () => {
    const since = Date.now();
    const limit = 3000;
    const attachment = png();
    const interaction = fake.interactionPayload({
      name: 'refer',
      user: user('ivy'),
      options: [{ name: 'phrase', type: 3, value: 'the red circle' }, { name: 'image', type: 11, value: attachment.id }],
      attachments: [attachment],
      attachmentSizeLimit: limit,
    });
    fake.interaction(interaction);
    // The final edit is the one that sets the message's attachments (streamed text edits leave them alone).
    const final = await fake.waitForRequest((r) => byToken(interaction.token)(r) && r.method === 'PATCH' && r.body?.attachments !== undefined, since);
    for (const file of final.files) expect(file.bytes.byteLength).toBeLessThanOrEqual(limit);
    expect(final.files.length > 0 || /upload limit/.test(final.body.content)).toBe(true);
  });

  it('answers a mention with an image as a reply carrying the annotated image', async () => {
    const since = Date.now();
    const bob = user('bob');
    const asked = fake.userMessage({
      channel: fake.quiet,
      author: bob,
      content: `<@${fake.botUser.id}> [refer] the red circle`,
      mentions: [fake.botUser],
      attachments: [png()],
    });
    const inQuiet = (r: RecordedRequest) => r.path.startsWith(`/channels/${fake.quiet.id}/messages`);
    const final = await fake.waitForRequest((r) => inQuiet(r) && r.files.length > 0, since);
    const replyCreate = fake.requests.find((r) => r.at >= since && inQuiet(r) && r.method === 'POST')!;
    expect(replyCreate.body.message_reference.message_id).toBe(asked.id);
    const red = scene.objects.find((o) => o.colour === 'red')!.box;
    const drawn = findDrawnBox(final.files[0]!.bytes, PALETTE[0]!.rgb);
    expect(drawn).not.toBeNull();
    drawn!.forEach((v, i) => {
      expect(Math.abs(v - red[i]!)).toBeLessThanOrEqual(6);
    });
  });

  it('runs a /command typed in a mention as that command, the way the terminal and Slack read it', async () => {
    const since = Date.now();
    const before = engine.requests.length;
    fake.userMessage({
      channel: fake.quiet,
      author: user('dora'),
      content: `<@${fake.botUser.id}> /refer the blue square`,
      mentions: [fake.botUser],
      attachments: [png()],
    });
    const inQuiet = (r: RecordedRequest) => r.path.startsWith(`/channels/${fake.quiet.id}/messages`);
    await fake.waitForRequest((r) => inQuiet(r) && r.files.length > 0, since);
    expect(engine.requests.slice(before).map((r) => [r.task, r.question])).toEqual([['refer', 'the blue square']]);
  });

  /**
   * Two mentions in the quiet channel, the second asked while the first holds the model: resolves once the second
   * was told its queue place, with that message and `release`, which lets both be answered.
   */
  async function mentionBehindAnother(first: string, second: string, question: string) {
    const since = Date.now();
    const held = gate();
    hold = held.wait;
    const mention = (name: string) =>
      fake.userMessage({
        channel: fake.quiet,
        author: user(name),
        content: `<@${fake.botUser.id}> ${question}`,
        mentions: [fake.botUser],
        attachments: [png()],
      });
    const asked = engine.requests.length;
    mention(first);
    await engine.received(asked + 1);
    const waiting = mention(second);
    const placeShown = (r: RecordedRequest) =>
      r.method === 'POST' && r.body?.message_reference?.message_id === waiting.id && r.body.content === FIRST_IN_LINE;
    await fake.waitForRequest(placeShown, since);
    const place = [...fake.messages.values()].find((m) => m.message_reference?.message_id === waiting.id)!;
    const release = () => {
      hold = undefined;
      held.release();
    };
    return { since, waiting, place, release };
  }

  it('tells a mention waiting behind another its queue place, then edits that reply into the answer', async () => {
    const { since, place, release } = await mentionBehindAnother('fay', 'gil', 'what is it?');
    release();
    const answered = (r: RecordedRequest) =>
      r.path.endsWith(`/${place.id}`) && /about the picture/.test(r.body?.content ?? '');
    await fake.waitForRequest((r) => r.method === 'PATCH' && answered(r), since);
  });

  it('answers a mention anew when its queue-place reply cannot be edited, and removes the stale one', async () => {
    const { since, waiting, place, release } = await mentionBehindAnother('hal', 'ida', 'what now?');
    fake.fail('PATCH', new RegExp(`^/channels/${fake.quiet.id}/messages/\\d+$`), { status: 503 });
    release();
    const answeredAnew = (r: RecordedRequest) =>
      r.method === 'POST' && r.body?.message_reference?.message_id === waiting.id && /about the picture/.test(r.body.content);
    await fake.waitForRequest(answeredAnew, since);
    await fake.waitForRequest((r) => r.method === 'DELETE' && r.path.endsWith(`/${place.id}`), since);
    fake.clearFaults();
    expect(fake.messages.has(place.id)).toBe(false);
    expect(errors.every((e) => (e as { err?: { status?: number } }).err?.status === 503)).toBe(true);
    errors.length = 0;
  });

  it.each([
    ['a 503', { status: 503 }, 'ivy'],
    ['a dropped connection', 'reset', 'jon'],
  ] as const)('posts the answer as a follow-up when every edit meets %s, and clears "thinking…"', async (...c) => {
    const [, fault, who] = c;
    const since = Date.now();
    const attachment = png();
    const options = [{ name: 'image', type: 11, value: attachment.id }];
    const interaction = fake.interactionPayload({
      name: 'caption',
      user: user(who),
      options,
      attachments: [attachment],
    });
    fake.fail('PATCH', new RegExp(`/${interaction.token}/messages/@original$`), fault);
    fake.interaction(interaction);
    const followUp = (r: RecordedRequest) => r.method === 'POST' && r.path.endsWith(`/${interaction.token}`);
    await fake.waitForRequest((r) => followUp(r) && /about the picture/.test(r.body?.content ?? ''), since);
    await fake.waitForRequest((r) => r.method === 'DELETE' && byToken(interaction.token)(r), since);
    fake.clearFaults();
    // The failed edits were logged as warnings, and only they.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => (e as { step?: string }).step === 'edit' || !('step' in e))).toBe(true);
    errors.length = 0;
  });

  it('continues a thread conversation without a new image, with the earlier turn as history', async () => {
    const since = Date.now();
    const carol = user('carol');
    const asked = engine.requests.length;
    fake.userMessage({ channel: fake.thread, author: carol, content: `<@${fake.botUser.id}> what is in it?`, mentions: [fake.botUser], attachments: [png()] });
    const inThread = (r: RecordedRequest) => r.path.startsWith(`/channels/${fake.thread.id}/messages`);
    await fake.waitForRequest((r) => inThread(r) && /answer 1 about/.test(r.body?.content ?? ''), since);
    const followUpAt = Date.now();
    fake.userMessage({ channel: fake.thread, author: carol, content: `<@${fake.botUser.id}> and what else?`, mentions: [fake.botUser] });
    const second = await fake.waitForRequest((r) => inThread(r) && /answer 2 about/.test(r.body?.content ?? ''), followUpAt);
    expect(second.body.content).not.toMatch(/needs an image/);
    const [first, next] = engine.requests.slice(asked);
    expect(next!.conversation).toBe(first!.conversation);
    expect(next!.history.map((t) => t.question)).toEqual(['what is in it?']);
  });

  it('refuses a non-image attachment with a short ephemeral reply, without downloading it', async () => {
    const since = Date.now();
    const notes = fake.attachment(new TextEncoder().encode('just text'), 'notes.txt', 'text/plain');
    const interaction = fake.interactionPayload({
      name: 'caption',
      user: user('dave'),
      options: [{ name: 'image', type: 11, value: notes.id }],
      attachments: [notes],
    });
    fake.interaction(interaction);
    const callback = await fake.waitForRequest(byToken(interaction.token), since);
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(callback.body.data.content).toMatch(/notes\.txt/);
    expect(callback.body.data.content.length).toBeLessThan(200);
    expect(fake.downloads.filter((p) => p.includes(notes.id))).toEqual([]);
  });

  it('tells a user over the rate limit, only them, while their earlier requests are answered', async () => {
    const since = Date.now();
    const erin = user('erin');
    const interactions = Array.from({ length: RATE_LIMIT + 1 }, () => {
      const attachment = png();
      return fake.interactionPayload({ name: 'caption', user: erin, options: [{ name: 'image', type: 11, value: attachment.id }], attachments: [attachment] });
    });
    const held = gate();
    hold = held.wait;
    for (const interaction of interactions) fake.interaction(interaction);
    // The first request holds the model, so the others wait in the queue and are told their place.
    const placeShown = (r: RecordedRequest) => r.method === 'PATCH' && r.body?.content === FIRST_IN_LINE;
    await fake.waitForRequest(placeShown, since);
    hold = undefined;
    held.release();
    const refusal = await fake.waitForRequest((r) => r.method === 'POST' && r.path.startsWith('/webhooks/') && /reached the limit of 3 per/.test(r.body?.content ?? ''), since);
    expect(refusal.body.flags).toBe(64);
    const refused = interactions.find((i) => refusal.path.includes(i.token))!;
    await fake.waitForRequest((r) => r.method === 'DELETE' && byToken(refused.token)(r), since);
    const answered = interactions.filter((i) => i !== refused);
    for (const interaction of answered) {
      await fake.waitForRequest((r) => byToken(interaction.token)(r) && r.method === 'PATCH' && /about the picture/.test(r.body?.content ?? ''), since);
    }
    const shown = fake.requests.filter((r) => answered.some((i) => byToken(i.token)(r))).map((r) => r.body?.content);
    expect(shown).toContain('Waiting in the queue: you are #1.');
    // Three replies streaming into one channel share its edit budget: never two edits within a second.
    const edits = fake.requests.filter((r) => r.method === 'PATCH' && answered.some((i) => byToken(i.token)(r))).map((r) => r.at);
    expect(edits.length).toBeGreaterThanOrEqual(answered.length);
    edits.slice(1).forEach((at, i) => {
      expect(at - edits[i]!).toBeGreaterThanOrEqual(950);
    });
  });

  it('splits a long answer into messages under 2000 characters, between words', async () => {
    const since = Date.now();
    const attachment = png();
    const interaction = fake.interactionPayload({
      name: 'vqa',
      user: user('frank'),
      options: [{ name: 'question', type: 3, value: 'give me a long answer' }, { name: 'image', type: 11, value: attachment.id }],
      attachments: [attachment],
    });
    fake.interaction(interaction);
    await fake.waitForRequest((r) => byToken(interaction.token)(r) && r.method === 'POST' && /all\./.test(r.body?.content ?? ''), since);
    const finalEdit = fake.requests.filter((r) => r.at >= since && byToken(interaction.token)(r) && r.method === 'PATCH').at(-1)!;
    const followUps = fake.requests.filter((r) => r.at >= since && byToken(interaction.token)(r) && r.method === 'POST' && r.path.startsWith('/webhooks/'));
    const parts = [finalEdit, ...followUps].map((r) => r.body.content as string);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(2000);
    for (let i = 0; i < 120; i++) {
      expect(parts.filter((p) => p.includes(`const value${i} = ${i};`))).toHaveLength(1);
    }
  });

  it('answers without a mention in a configured channel and in DMs, and stays quiet elsewhere', async () => {
    const since = Date.now();
    const grace = user('grace');
    fake.userMessage({ channel: fake.quiet, author: grace, content: 'nobody asked the bot here', attachments: [png()] });
    fake.userMessage({ channel: fake.channel, author: grace, content: 'what is this?', attachments: [png()] });
    await fake.waitForRequest((r) => r.path === `/channels/${fake.channel.id}/messages` && /about the picture/.test(r.body?.content ?? ''), since);
    const dm = { id: `1${String(Date.now()).padStart(17, '0')}`, type: 1 };
    fake.userMessage({ channel: dm, author: grace, content: 'and in private?', attachments: [png()] });
    await fake.waitForRequest((r) => r.path === `/channels/${dm.id}/messages` && /about the picture/.test(r.body?.content ?? ''), since);
    expect(fake.requests.filter((r) => r.at >= since && r.path.startsWith(`/channels/${fake.quiet.id}/`))).toEqual([]);

    const attachment = png();
    const slashInDm = fake.interactionPayload({
      name: 'vqa',
      user: grace,
      channel: { ...dm, recipients: [grace] },
      options: [{ name: 'question', type: 3, value: 'what shapes?' }, { name: 'image', type: 11, value: attachment.id }],
      attachments: [attachment],
    });
    fake.interaction(slashInDm);
    await fake.waitForRequest((r) => byToken(slashInDm.token)(r) && r.method === 'PATCH' && /about the picture/.test(r.body?.content ?? ''), since);
  });
});

const MESSAGE_CONTENT_INTENT = 1 << 15;
const identifiedIntents = (discord: FakeDiscord): number =>
  (discord.gateway.received.find((p) => p.op === 2)!.d as { intents: number }).intents;

describe('discord adapter start-up', () => {

  it('registered the commands and made an invite link with both scopes and the permissions it needs', () => {
    const names = [...bot().commands().map((c) => c.name), 'Ask about this image'];
    expect(fake.commands.get('global')!.map((c) => c.name)).toEqual(names);
    const invite = new URL(adapter.inviteUrl);
    expect(invite.searchParams.get('client_id')).toBe(fake.application.id);
    expect(invite.searchParams.get('scope')!.split(' ').sort()).toEqual(['applications.commands', 'bot']);
    const permissions = BigInt(invite.searchParams.get('permissions')!);
    for (const needed of [PermissionFlagsBits.SendMessages, PermissionFlagsBits.AttachFiles, PermissionFlagsBits.SendMessagesInThreads]) {
      expect(permissions & needed).toBe(needed);
    }
  });
});

describe('discord adapter past the interaction deadline, configured without answer channels', () => {
  let late: FakeDiscord;
  let lateAdapter: DiscordAdapter;
  beforeAll(async () => {
    late = await FakeDiscord.start({ heartbeatIntervalMs: 200 });
    const core = createBot({ engine: new ScriptedEngine(scriptedAnswer), plugins: PLUGINS });
    // A deadline already passed when the answer comes: what a 15-minute job looks like, without the wait.
    lateAdapter = await start(core, { token: late.token, apiUrl: late.apiUrl, interactionDeadlineMs: 1, registerCommands: false }, log);
  });
  afterAll(async () => {
    await lateAdapter?.stop();
    await late?.close();
  });

  it('keeps the gateway connection alive with heartbeats the gateway acknowledges', async () => {
    await late.waitFor(() => (late.gateway.heartbeats >= 2 ? true : undefined), 3000);
  });

  it('asks for the privileged Message Content intent only when it answers in channels without a mention', () => {
    expect(identifiedIntents(fake) & MESSAGE_CONTENT_INTENT).toBe(MESSAGE_CONTENT_INTENT);
    expect(identifiedIntents(late) & MESSAGE_CONTENT_INTENT).toBe(0);
  });

  it('keeps a late long answer, mention included, within 2,000 characters a message', async () => {
    const since = Date.now();
    const ken = user('ken');
    const attachment = late.attachment(scene.png, 'scene.png', 'image/png');
    late.interaction(
      late.interactionPayload({
        name: 'vqa',
        user: ken,
        options: [
          { name: 'question', type: 3, value: 'a long answer please' },
          { name: 'image', type: 11, value: attachment.id },
        ],
        attachments: [attachment],
      }),
    );
    const inChannel = (r: RecordedRequest) => r.path === `/channels/${late.channel.id}/messages` && r.method === 'POST';
    await late.waitForRequest((r) => inChannel(r) && /And that was all\./.test(r.body?.content ?? ''), since);
    const posted = late.requests.filter((r) => r.at >= since && inChannel(r)).map((r) => r.body.content as string);
    expect(posted.length).toBeGreaterThanOrEqual(4);
    expect(posted[0]!.startsWith(`<@${ken.id}> Here is a long answer.`)).toBe(true);
    for (const content of posted) expect(content.length).toBeLessThanOrEqual(2000);
  });

  it('answers in a normal channel message that names the asker, not by editing the expired reply', async () => {
    const since = Date.now();
    const henry = user('henry');
    const attachment = late.attachment(scene.png, 'scene.png', 'image/png');
    const interaction = late.interactionPayload({
      name: 'refer',
      user: henry,
      options: [{ name: 'phrase', type: 3, value: 'the red circle' }, { name: 'image', type: 11, value: attachment.id }],
      attachments: [attachment],
    });
    late.interaction(interaction);
    // The earlier test's long answer may still be posting its last parts: wait for the message about henry's.
    const aboutHenry = (r: RecordedRequest) =>
      r.path === `/channels/${late.channel.id}/messages` && r.method === 'POST' && (r.body?.content ?? '').includes(henry.id);
    const posted = await late.waitForRequest(aboutHenry, since);
    expect(posted.body.content).toMatch(new RegExp(`^<@${henry.id}> `));
    expect(posted.body.allowed_mentions).toEqual({ users: [henry.id] });
    expect(posted.files[0]!.contentType).toBe('image/png');
    expect(late.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });
});
