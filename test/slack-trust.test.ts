import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { SqliteMemory } from '../src/state/sqlite-memory.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import { messageShortcut, sendSigned, viewSubmission } from './fakes/slack/requests.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';
import { SIGNING_SECRET as SECRET, SlackOnFake, USER, type StartedSlack } from './helpers/slack-on-fake.ts';

/**
 * Slack input a bot must not trust as it comes, and what it must not forget: through the real Bolt app against a
 * local Slack, with the adapter's memory in a state file that outlives a restart.
 */

const scene = drawScene({ width: 200, height: 160, objects: [{ colour: 'red', shape: 'circle', box: [20, 20, 90, 90] }] });

let slack: SlackOnFake;
let fake: FakeSlack;
let engine: ScriptedEngine;
let stateFile: string;
let memory: SqliteMemory;
let store: SqliteConversationStore;
let running: StartedSlack;
let eventsUrl: string;

/** One run of the bot as `npm start` wires it: conversations and the adapter's memory in the same state file. */
async function startAdapter(): Promise<void> {
  memory = new SqliteMemory(stateFile, 'slack');
  store = new SqliteConversationStore(stateFile);
  const bot = { engine, settings: { conversations: { scope: 'thread' as const } }, store };
  running = await slack.adapter(bot, { apiRetries: 0, updateIntervalMs: 50 }, { memory });
  eventsUrl = running.eventsUrl;
}

async function restart(): Promise<void> {
  await slack.stop(running);
  memory.close();
  store.close();
  await startAdapter();
}

beforeAll(async () => {
  slack = await SlackOnFake.start('1800000100');
  fake = slack.fake;
  engine = new ScriptedEngine((request) => `an answer about ${request.question}`);
  stateFile = join(mkdtempSync(join(tmpdir(), 'minigpt-slack-')), 'state', 'bot.sqlite');
  await startAdapter();
});

afterAll(async () => {
  await slack?.close();
  memory?.close();
  store?.close();
});

describe('GIVEN a Slack bot with its memory in the state file', () => {
  it('WHEN it restarts THEN a retried event is not answered again and /vqa still finds the channel’s image', async () => {
    const image = slack.mention('C0KEEP', 'what is this?', { files: [fake.addFile(scene.png)], eventId: 'Ev0KEEP001' });
    await slack.send(eventsUrl, image);
    await slack.settledThread('C0KEEP', image.ts);
    const before = engine.requests.length;

    await restart();
    expect((await slack.send(eventsUrl, image, 2)).status).toBe(200);
    const res = await slack.slash(eventsUrl, 'C0KEEP', '/vqa', 'and the colour?');
    expect(await res.text()).toContain(MESSAGES.answeringInThread);
    const thread = await slack.settledThread('C0KEEP', image.ts, 2);
    expect(thread[1]!.text).toContain('an answer about and the colour?');
    // Only the slash command reached the model: the retried event was recognised after the restart.
    expect(engine.requests.slice(before).map((r) => r.question)).toEqual(['and the colour?']);
    expect(fake.thread('C0KEEP', image.ts)).toHaveLength(2);
  });
});

describe('GIVEN text and senders a bot must not trust', () => {
  it('WHEN another app mentions the bot THEN it is ignored; a person in the same channel is answered', async () => {
    const fromBot = slack.mention('C0BOTS', 'what is this?', { files: [fake.addFile(scene.png)], botId: 'B0OTHER' });
    await slack.send(eventsUrl, fromBot);
    const person = slack.mention('C0BOTS', 'what is this?', { files: [fake.addFile(scene.png)] });
    await slack.send(eventsUrl, person);
    await slack.settledThread('C0BOTS', person.ts);
    expect(fake.thread('C0BOTS', fromBot.ts)).toEqual([]);
  });

  it('WHEN slash text holds markup THEN the model gets what was typed and the heading echoes it harmlessly', async () => {
    const image = slack.mention('C0ECHO', 'look', { files: [fake.addFile(scene.png)] });
    await slack.send(eventsUrl, image);
    await slack.settledThread('C0ECHO', image.ts);
    // Slack sends `is a < b & <!channel> ``x``?` encoded, as it does for every slash command.
    await slack.slash(eventsUrl, 'C0ECHO', '/vqa', 'is a &lt; b &amp; &lt;!channel&gt; `x`?');
    const thread = await slack.settledThread('C0ECHO', image.ts, 2);
    expect(engine.requests.at(-1)!.question).toBe('is a < b & <!channel> `x`?');
    expect(thread[1]!.text.split('\n')[0]).toBe(`<@${USER}> asked \`/vqa is a &lt; b &amp; &lt;!channel&gt; ˋxˋ?\``);
  });

  it('WHEN typed text is over 1,000 characters THEN a mention and a slash command are refused with the limit', async () => {
    const before = engine.requests.length;
    const long = slack.mention('C0LONG', 'why '.repeat(300), { files: [fake.addFile(scene.png)] });
    await slack.send(eventsUrl, long);
    const [reply] = await slack.settledThread('C0LONG', long.ts);
    expect(reply!.text).toBe('Your message is 1199 characters long; the limit is 1000. Please shorten it.');
    const res = await slack.slash(eventsUrl, 'C0LONG', '/vqa', 'why '.repeat(300).trim());
    expect(await res.text()).toContain('the limit is 1000');
    expect(engine.requests.length).toBe(before);
  });

  it('WHEN conversations are per thread THEN each top-level mention starts its own', async () => {
    const first = slack.mention('C0CHAIN', 'first', { files: [fake.addFile(scene.png)] });
    await slack.send(eventsUrl, first);
    await slack.settledThread('C0CHAIN', first.ts);
    const second = slack.mention('C0CHAIN', 'second', { files: [fake.addFile(scene.png)] });
    await slack.send(eventsUrl, second);
    await slack.settledThread('C0CHAIN', second.ts);
    const followUp = slack.mention('C0CHAIN', 'more?', { threadTs: first.ts });
    await slack.send(eventsUrl, followUp);
    await slack.settledThread('C0CHAIN', first.ts, 2);
    expect(engine.requests.at(-1)!.history.map((t) => t.question)).toEqual(['first']);
  });
});

describe('GIVEN user groups as roles (slack.userGroups) and a blocked group', () => {
  it('WHEN a member of the blocked group asks THEN the bot refuses; others are answered, the groups read once', async () => {
    fake.userGroups.push({ id: 'S0MUTED', handle: 'muted', users: ['U0MALLORY'] }, { id: 'S0ART', handle: 'art', users: [USER] });
    const settings = { access: { blockRoles: ['S0MUTED'] } };
    const grouped = await slack.adapter({ engine, settings }, { apiRetries: 0, userGroups: true });
    try {
      const files = [fake.addFile(scene.png)];
      const blocked = slack.mention('C0GROUPS', 'what is this?', { user: 'U0MALLORY', files });
      await slack.send(grouped.eventsUrl, blocked);
      const [refusal] = await slack.settledThread('C0GROUPS', blocked.ts);
      expect(refusal!.text).toBe('You are not allowed to use this bot.');
      const allowed = slack.mention('C0GROUPS', 'what is this?', { files: [fake.addFile(scene.png)] });
      await slack.send(grouped.eventsUrl, allowed);
      const [answer] = await slack.settledThread('C0GROUPS', allowed.ts);
      expect(answer!.text).toContain('an answer about what is this?');
      expect(fake.callsTo('usergroups.list').map((c) => c.params.include_users)).toEqual(['true']);
    } finally {
      await slack.stop(grouped);
    }
  });
});

describe('GIVEN the "Ask about this image" message shortcut', () => {
  it('WHEN used on someone’s image THEN a modal asks the question and the answer, about that image, lands in its thread', async () => {
    const file = fake.addFile(scene.png);
    const message = { user: 'U0BOB', text: 'my drawing', ts: slack.nextTs(), files: [file] };
    const shortcut = messageShortcut({ team: fake.team, user: USER, channel: 'C0MENU', callbackId: 'ask_about_image', message });
    expect((await sendSigned(eventsUrl, SECRET, shortcut, 'application/x-www-form-urlencoded')).status).toBe(200);
    const opened = await fake.waitFor(() => fake.callsTo('views.open').at(-1), 'the modal');
    const view = JSON.parse(opened.params.view!) as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(JSON.stringify(view.blocks)).toMatch(/"max_length":1000/);

    const before = engine.requests.length;
    const submission = viewSubmission({ team: fake.team, user: USER, view, values: { question: { text: 'what <b> is it?' } } });
    expect((await sendSigned(eventsUrl, SECRET, submission, 'application/x-www-form-urlencoded')).status).toBe(200);
    const [answer] = await slack.settledThread('C0MENU', message.ts);
    expect(answer!.text.split('\n')[0]).toBe(`<@${USER}> asked about this image: what &lt;b&gt; is it?`);
    expect(answer!.text).toContain('an answer about what &lt;b&gt; is it?');
    expect(engine.requests.slice(before).map((r) => r.question)).toEqual(['what <b> is it?']);
    expect(fake.callsTo('download').at(-1)?.path).toBe(new URL(file.url_private_download!).pathname);
  });

  it('WHEN used on a message without an image THEN only the asker is told, and no modal opens', async () => {
    const opened = fake.callsTo('views.open').length;
    const message = { user: 'U0BOB', text: 'just words', ts: slack.nextTs() };
    const shortcut = messageShortcut({ team: fake.team, user: USER, channel: 'C0MENU', callbackId: 'ask_about_image', message });
    await sendSigned(eventsUrl, SECRET, shortcut, 'application/x-www-form-urlencoded');
    const told = await fake.waitFor(() => fake.callsTo('chat.postEphemeral').at(-1), 'the ephemeral note');
    expect(told.params).toMatchObject({ channel: 'C0MENU', user: USER, text: expect.stringMatching(/no image/) });
    expect(fake.callsTo('views.open')).toHaveLength(opened);
  });
});
