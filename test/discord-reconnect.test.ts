import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordAdapter, type Log, start } from '../adapters/discord/index.ts';
import { createBot } from '../src/bot/core.ts';
import type { GenerateRequest } from '../src/inference/types.ts';
import { PLUGINS } from '../plugins/index.ts';
import { CloseCode } from './fakes/discord/gateway.ts';
import { FakeDiscord, type RecordedRequest, user } from './fakes/discord/index.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * What Discord users see when the gateway connection drops and when answering fails, through the real discord.js
 * against a local Discord: the bot comes back by itself and answers what was asked meanwhile, once; an answer that
 * fails shows the one generic line and the next question is answered as usual.
 */

const scene = drawScene({ width: 64, height: 48, objects: [{ colour: 'blue', shape: 'square', box: [8, 8, 40, 40] }] });
/** The line users read when answering failed (src/bot/messages.ts, `unexpected`). */
const SOMETHING_WENT_WRONG = 'Something went wrong while answering; it has been logged. Please try again.';

function answer(request: GenerateRequest): string {
  if (request.question.includes('explode')) throw new Error('the engine failed');
  return `answered: ${request.question}`;
}

const logged: { level: string; message?: string }[] = [];
const log: Log = {
  debug() {},
  info() {},
  warn: (_fields, message) => logged.push({ level: 'warn', message }),
  error: (_fields, message) => logged.push({ level: 'error', message }),
};

let fake: FakeDiscord;
let adapter: DiscordAdapter;

beforeAll(async () => {
  fake = await FakeDiscord.start();
  const bot = createBot({ engine: new ScriptedEngine(answer), plugins: PLUGINS });
  adapter = await start(bot, { token: fake.token, apiUrl: fake.apiUrl, registerCommands: false }, log);
});

afterAll(async () => {
  await adapter?.stop(0);
  await fake?.close();
});

const opsReceived = (op: number): number => fake.gateway.received.filter((p) => p.op === op).length;
const IDENTIFY = 2;
const RESUME = 6;

/** Mentions the bot with an image in the general channel; returns when it was sent. */
function mention(question: string): number {
  const since = Date.now();
  const attachments = [fake.attachment(scene.png, 'scene.png', 'image/png')];
  const content = `<@${fake.botUser.id}> ${question}`;
  fake.userMessage({ channel: fake.channel, author: user('erin'), content, mentions: [fake.botUser], attachments });
  return since;
}

/** Waits for the bot to post or edit a message in the general channel into one that says `text`. */
async function replySaying(text: string, since: number): Promise<RecordedRequest> {
  const inChannel = (r: RecordedRequest) => r.path.startsWith(`/channels/${fake.channel.id}/messages`);
  return fake.waitForRequest((r) => inChannel(r) && r.method !== 'GET' && r.body?.content === text, since);
}

/** How many of the bot's messages in the general channel say `text`, as its users see them. */
const said = (text: string): number =>
  [...fake.messages.values()].filter(
    (m) => m.channel_id === fake.channel.id && m.author.id === fake.botUser.id && m.content === text,
  ).length;

describe('GIVEN a bot connected to the gateway', () => {
  // Coming back is routine: no warning or error line for it.
  afterEach(() => expect(logged).toEqual([]));

  it('WHEN Discord closes with 4000 and a mention comes meanwhile THEN it resumes and answers it once', async () => {
    const [identifies, resumes] = [opsReceived(IDENTIFY), opsReceived(RESUME)];
    fake.gateway.drop(CloseCode.UnknownError);
    const askedAt = mention('what was asked while away?');
    await replySaying('answered: what was asked while away?', askedAt);
    expect([opsReceived(IDENTIFY) - identifies, opsReceived(RESUME) - resumes]).toEqual([0, 1]);
    expect(adapter.connected()).toBe(true);

    // A later question answered shows every earlier reply is out: the replayed mention was answered once.
    const nextAt = mention('and after?');
    await replySaying('answered: and after?', nextAt);
    expect(said('answered: what was asked while away?')).toBe(1);
  });

  it('WHEN the connection is cut without a close frame THEN the bot comes back and answers', async () => {
    const resumes = opsReceived(RESUME);
    fake.gateway.drop();
    await fake.waitFor(() => (opsReceived(RESUME) > resumes ? true : undefined), 10_000);
    const askedAt = mention('are you back?');
    await replySaying('answered: are you back?', askedAt);
    expect(adapter.connected()).toBe(true);
  });

  it('WHEN Discord forgot the session THEN discord.js identifies anew and the next mention is answered', async () => {
    const identifies = opsReceived(IDENTIFY);
    fake.gateway.forgetSessions();
    fake.gateway.drop(CloseCode.UnknownError);
    // A new session starts with a new IDENTIFY (discord.js waits out Discord's 5 s between two of them).
    await fake.waitFor(() => (opsReceived(IDENTIFY) > identifies ? true : undefined), 15_000);
    const askedAt = mention('a new session?');
    await replySaying('answered: a new session?', askedAt);
    expect(adapter.connected()).toBe(true);
  }, 30_000);
});

describe('GIVEN an engine that fails on one question', () => {
  it('WHEN a mention makes it throw THEN the asker reads the generic error line; the next is answered', async () => {
    const failedAt = mention('explode, please');
    await replySaying(SOMETHING_WENT_WRONG, failedAt);
    const nextAt = mention('and now?');
    await replySaying('answered: and now?', nextAt);
    expect(said(SOMETHING_WENT_WRONG)).toBe(1);
  });

  it('WHEN a slash command makes it throw THEN its reply is the generic error line; the next is answered', async () => {
    const since = Date.now();
    const ask = (question: string) => {
      const attachment = fake.attachment(scene.png, 'scene.png', 'image/png');
      const interaction = fake.interactionPayload({
        name: 'vqa',
        user: user('frank'),
        options: [{ name: 'question', type: 3, value: question }, { name: 'image', type: 11, value: attachment.id }],
        attachments: [attachment],
      });
      fake.interaction(interaction);
      return interaction.token;
    };
    const editSays = (token: string, text: string) => (r: RecordedRequest) =>
      r.method === 'PATCH' && r.path.includes(`/${token}/messages/@original`) && r.body?.content?.includes(text);
    const failed = ask('explode now');
    await fake.waitForRequest(editSays(failed, SOMETHING_WENT_WRONG), since);
    expect(fake.original(failed)?.content).toContain(SOMETHING_WENT_WRONG);
    const next = ask('still there?');
    await fake.waitForRequest(editSays(next, 'answered: still there?'), since);
  });
});
