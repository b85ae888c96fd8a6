import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import type { MessageSpec } from './fakes/slack/requests.ts';
import { drawScene } from './helpers/scene.ts';
import { gate, ScriptedEngine } from './helpers/scripted-engine.ts';
import { SlackOnFake, type StartedSlack } from './helpers/slack-on-fake.ts';

/**
 * The Slack adapter through Bolt against a local Slack that misbehaves on purpose: failed final edits, dropped
 * connections, redirects off Slack, a per-workspace rate limit, failing uploads. Every answer must reach its
 * thread or the thread must say why it could not.
 */

const scene = drawScene({
  width: 160,
  height: 120,
  objects: [{ colour: 'red', shape: 'circle', box: [20, 30, 60, 70] }],
});
const circleGrid = pixelsToGrid(scene.objects[0]!.box, { width: scene.width, height: scene.height });

const errors: object[] = [];
const log = { debug() {}, info() {}, warn() {}, error: (obj: object) => void errors.push(obj) };

/** While set, every answer waits for it, so requests pile up in the queue. */
let hold: Promise<void> | undefined;
let slack: SlackOnFake;
let fake: FakeSlack;
/** No retries of failed Web API calls: a fault is seen at once. */
let strict: StartedSlack;
/** The library's retries, and a workspace budget of 600 `chat.update` a minute (one per 100 ms). */
let budgeted: StartedSlack;

/** A mention with the scene attached. */
const mention = (channel: string, text: string, extra: Partial<MessageSpec> = {}): MessageSpec =>
  slack.mention(channel, text, { files: [fake.addFile(scene.png, { name: 'scene.png' })], ...extra });
const send = (to: StartedSlack, event: MessageSpec) => slack.send(to.eventsUrl, event);
const texts = (channel: string, ts: string) => fake.thread(channel, ts).map((m) => m.text);

beforeAll(async () => {
  slack = await SlackOnFake.start('1900000000');
  fake = slack.fake;
  const engine = new ScriptedEngine(async (request) => {
    await hold;
    return request.task === 'refer'
      ? `<p>${request.question}</p>${formatBox(circleGrid)}`
      : `an answer about ${request.question}`;
  });
  strict = await slack.adapter({ engine }, { apiRetries: 0, updateIntervalMs: 0 }, { log });
  const settings = { limits: { maxQueue: 60, perUser: { requests: 100, windowSeconds: 60 } } };
  budgeted = await slack.adapter({ engine, settings }, { updateIntervalMs: 0, updatesPerMinute: 600 }, { log });
});

afterAll(() => slack?.close());

/** Sends a mention while the model is held, lets `fault` in once the placeholder is up, then lets the model go. */
async function answerThrough(fault: () => void, channel: string) {
  const held = gate();
  hold = held.wait;
  const event = mention(channel, 'what is in the picture?');
  await send(strict, event);
  await fake.waitFor(() => texts(channel, event.ts).includes(MESSAGES.working), 'the placeholder');
  fault();
  hold = undefined;
  held.release();
  return event;
}

describe('Slack answers that cannot be posted the usual way', () => {
  it('posts the answer anew when the final edit says message_not_found', async () => {
    const event = await answerThrough(() => fake.fail('chat.update', { error: 'message_not_found' }), 'C0GONE');
    await fake.waitFor(
      () => texts('C0GONE', event.ts).includes('an answer about what is in the picture?'),
      'the answer',
    );
    fake.clearFaults();
  });

  it('posts the answer anew when the connection drops on the final edit', async () => {
    const event = await answerThrough(() => fake.fail('chat.update', 'reset'), 'C0RESET');
    const thread = await fake.waitFor(() => {
      const now = texts('C0RESET', event.ts);
      return now.includes('an answer about what is in the picture?') && !now.includes(MESSAGES.working) && now;
    }, 'the answer, and the placeholder gone');
    fake.clearFaults();
    expect(thread).toEqual(['an answer about what is in the picture?']);
  });

  it('says in the thread, with the reason, when neither the edit nor a new message goes through', async () => {
    const event = await answerThrough(() => {
      fake.fail('chat.update', { status: 503 });
      fake.fail('chat.postMessage', { error: 'msg_too_long' }, 1);
    }, 'C0DOWN');
    const thread = await fake.waitFor(() => {
      const now = texts('C0DOWN', event.ts);
      return now.length === 2 && now;
    }, 'the apology');
    fake.clearFaults();
    expect(thread).toEqual([MESSAGES.working, MESSAGES.notDelivered('msg_too_long')]);
  });

  it('refuses a file whose download redirects off Slack, without fetching the other host', async () => {
    const outside = `${fake.url.replace('127.0.0.1', 'localhost')}/files-pri/F999/elsewhere.png`;
    const file = fake.addFile(scene.png, { name: 'moved.png', redirectTo: outside });
    const event = mention('C0MOVED', 'what is this?', { files: [file] });
    await send(strict, event);
    await fake.waitFor(() => texts('C0MOVED', event.ts).includes(MESSAGES.download['untrusted-url']), 'the refusal');
    expect(fake.callsTo('download').map((c) => c.path)).not.toContain('/files-pri/F999/elsewhere.png');
    expect(fake.callsTo('download').filter((c) => c.path.includes(file.id))).toHaveLength(1);
  });
});

describe('Slack calls within the workspace budget', () => {
  it('keeps chat.update inside the budget while 50 requests wait, and answers every one of them', async () => {
    fake.limit('chat.update', 12, 1000);
    const held = gate();
    hold = held.wait;
    const started = Date.now();
    const before = fake.callsTo('chat.update').length;
    const events = Array.from({ length: 50 }, (_, i) => mention('C0BUSY', `question ${i}`));
    for (const event of events) await send(budgeted, event);
    await fake.waitFor(() => events.every((e) => texts('C0BUSY', e.ts).length === 1), 'every placeholder');
    // Let the queue places flow for a second, then let the model answer them all.
    await fake.waitFor(() => fake.callsTo('chat.update').length >= before + 8, 'queue places', 5000);
    hold = undefined;
    held.release();
    await fake.waitFor(
      () => events.every((e, i) => texts('C0BUSY', e.ts).includes(`an answer about question ${i}`)),
      'every answer',
      30_000,
    );
    const elapsedMs = Date.now() - started;
    const updates = fake.callsTo('chat.update').length - before;
    expect(fake.rateLimited).toEqual([]);
    // One call per 100 ms at most (600 a minute), whatever the number of queue moves.
    expect(updates).toBeLessThanOrEqual(Math.floor(elapsedMs / 100) + 1);
    expect(errors).toEqual([]);
  });

  it('reports a failing image upload in the thread within seconds, not after the client gives up', async () => {
    fake.fail('files.getUploadURLExternal', { status: 500 });
    const sent = Date.now();
    const event = mention('C0UPLOAD', '[refer] the red circle');
    await send(budgeted, event);
    await fake.waitFor(() => texts('C0UPLOAD', event.ts).includes(MESSAGES.uploadFailed), 'the upload failure', 8000);
    fake.clearFaults();
    expect(texts('C0UPLOAD', event.ts)[0]).toContain('the red circle');
    expect(Date.now() - sent).toBeLessThan(8000);
  });
});
