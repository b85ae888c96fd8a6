import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { formatBox } from '../src/grounding/format.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import { PALETTE } from '../src/render/palette.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned, type MessageSpec } from './fakes/slack/requests.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';
import { SIGNING_SECRET as SECRET, SlackOnFake, USER } from './helpers/slack-on-fake.ts';

const CHANNEL = 'C0GENERAL';

// A red circle and a blue square; the scripted model finds the circle when asked to refer.
const scene = drawScene({
  width: 320,
  height: 240,
  objects: [
    { colour: 'red', shape: 'circle', box: [40, 60, 120, 140] },
    { colour: 'blue', shape: 'square', box: [200, 100, 270, 170] },
  ],
});
const circle = scene.objects[0]!.box;
const circleGrid = pixelsToGrid(circle, { width: scene.width, height: scene.height });

const errors: object[] = [];
const log = { debug() {}, info() {}, warn() {}, error: (obj: object) => void errors.push(obj) };

let slack: SlackOnFake;
let fake: FakeSlack;
let engine: ScriptedEngine;
let eventsUrl: string;

const mention = (text: string, extra: Partial<MessageSpec> = {}) => slack.mention(CHANNEL, text, extra);
const sendEvent = (body: string, retryNum?: number) => slack.send(eventsUrl, body, retryNum);

beforeAll(async () => {
  slack = await SlackOnFake.start('1800000000');
  fake = slack.fake;
  engine = new ScriptedEngine((request) =>
    request.task === 'refer' ? `<p>${request.question}</p>${formatBox(circleGrid)}` : `a ${request.task} answer about ${request.question}`,
  );
  ({ eventsUrl } = await slack.adapter({ engine }, { updateIntervalMs: 50, apiRetries: 0 }, { log }));
});

afterAll(() => slack?.close());

beforeEach(() => {
  errors.length = 0;
});

describe('Slack adapter against a local Slack', () => {
  it('answers a mention with an image in its thread and uploads the annotated PNG with the box around the object', async () => {
    const file = fake.addFile(scene.png, { name: 'scene.png' });
    const event = mention('[refer] the red circle', { files: [file] });
    const res = await sendEvent(messageEnvelope(event));
    expect(res.status).toBe(200);

    const upload = await fake.waitFor(() => [...fake.uploads.values()].find((u) => u.threadTs === event.ts && u.bytes.length > 0), 'the upload');
    const [answer] = await slack.settledThread(CHANNEL, event.ts);
    expect(answer?.text).toContain('the red circle');
    expect(upload.channel).toBe(CHANNEL);
    expect(upload.bytes.subarray(1, 4).toString()).toBe('PNG');
    const drawn = findDrawnBox(upload.bytes, PALETTE[0]!.rgb);
    expect(drawn).not.toBeNull();
    drawn!.forEach((v, i) => {
      expect(Math.abs(v - circle[i]!)).toBeLessThanOrEqual(8);
    });

    const download = fake.callsTo('download').at(-1);
    expect(download?.authorization).toBe(`Bearer ${fake.botToken}`);
    expect(engine.requests.at(-1)).toMatchObject({ task: 'refer', question: 'the red circle' });
    expect(errors).toEqual([]);
  });

  it('continues the conversation when mentioned again in the thread, without a new file', async () => {
    const file = fake.addFile(scene.png);
    const first = mention('what is in the picture?', { files: [file] });
    await sendEvent(messageEnvelope(first));
    await slack.settledThread(CHANNEL, first.ts);
    const downloads = fake.callsTo('download').length;

    const followUp = mention('and what colour is the square?', { threadTs: first.ts });
    await sendEvent(messageEnvelope(followUp));
    const messages = await slack.settledThread(CHANNEL, first.ts, 2);

    expect(messages[1]?.text).toContain('what colour is the square?');
    expect(fake.callsTo('download').length).toBe(downloads);
    const last = engine.requests.at(-1)!;
    expect(last.history.map((t) => t.question)).toEqual(['what is in the picture?']);
    expect(last.conversation).toContain(encodeURIComponent(first.ts));
  });

  it('answers a DM without a mention, in the DM thread', async () => {
    const file = fake.addFile(scene.png);
    const dm: MessageSpec = {
      team: fake.team,
      channel: 'D0DIRECT',
      user: USER,
      text: 'describe this',
      ts: slack.nextTs(),
      files: [file],
    };
    await sendEvent(messageEnvelope(dm, 'message'));
    const [answer] = await slack.settledThread('D0DIRECT', dm.ts);
    expect(answer?.text).toContain('describe this');
  });

  it('acknowledges a slash command at once and answers about the channel\'s latest image in its thread', async () => {
    const file = fake.addFile(scene.png);
    const image = mention('[refer] the red circle', { channel: 'C0SLASH', files: [file] });
    await sendEvent(messageEnvelope(image));
    await slack.settledThread('C0SLASH', image.ts);

    const started = Date.now();
    const res = await slack.slash(eventsUrl, 'C0SLASH', '/vqa', 'what shape is red?');
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await res.text()).toContain(MESSAGES.answeringInThread);

    const messages = await slack.settledThread('C0SLASH', image.ts, 2);
    expect(messages[1]?.text).toContain(`<@${USER}> asked \`/vqa what shape is red?\``);
    expect(messages[1]?.text).toContain('a vqa answer about what shape is red?');
    expect(engine.requests.at(-1)?.history).toHaveLength(1);
  });

  it('answers /help only to the asker, through the response URL', async () => {
    const responseUrl = fake.responseUrl();
    const res = await slack.slash(eventsUrl, 'C0HELP', '/help', '', responseUrl);
    expect(res.status).toBe(200);
    const response = await fake.waitFor(() => fake.callsTo('respond').find((c) => c.path === new URL(responseUrl).pathname), 'the response');
    expect(response.params.response_type).toBe('ephemeral');
    // `<phrase>` would be read as Slack markup and vanish: it must arrive escaped.
    expect(response.params.text).toContain('/refer &lt;phrase&gt;');
    expect(fake.messages.filter((m) => m.channel === 'C0HELP')).toEqual([]);
  });

  it('passes a box typed after a slash command to the command, in pixels of the channel image', async () => {
    const file = fake.addFile(scene.png);
    const image = mention('what is in the picture?', { channel: 'C0BOX', files: [file] });
    await sendEvent(messageEnvelope(image));
    await slack.settledThread('C0BOX', image.ts);
    await slack.slash(eventsUrl, 'C0BOX', '/identify', '40,60,120,140');
    await slack.settledThread('C0BOX', image.ts, 2);
    expect(engine.requests.at(-1)).toMatchObject({ task: 'identify', question: `what is this ${formatBox(circleGrid)}` });
  });

  it('answers Slack\'s URL verification challenge', async () => {
    const res = await sendEvent(JSON.stringify({ token: 't', challenge: 'ch4ll3nge', type: 'url_verification' }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ch4ll3nge');
  });

  it('explains how to attach an image when a slash command finds none in the channel', async () => {
    const before = engine.requests.length;
    const res = await slack.slash(eventsUrl, 'C0EMPTY', '/refer', 'the cat');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('There is no image in this channel yet');
    expect(engine.requests.length).toBe(before);
  });

  it('answers a retried event once, and the same message under another event id not at all', async () => {
    const file = fake.addFile(scene.png);
    const event = mention('[vqa] how many shapes?', { files: [file], eventId: 'Ev0RETRY01' });
    const body = messageEnvelope(event);
    const before = engine.requests.length;
    expect((await sendEvent(body)).status).toBe(200);
    expect((await sendEvent(body, 1)).status).toBe(200);
    expect((await sendEvent(messageEnvelope({ ...event, eventId: 'Ev0RETRY02' }), 2)).status).toBe(200);
    await slack.settledThread(CHANNEL, event.ts);
    // A later question, answered: any duplicate taken before it would have reached the model first.
    const later = mention('[vqa] and the colours?', { eventId: 'Ev0RETRY03', files: [fake.addFile(scene.png)] });
    await sendEvent(messageEnvelope(later));
    await slack.settledThread(CHANNEL, later.ts);
    expect(engine.requests.slice(before).map((r) => r.question)).toEqual(['how many shapes?', 'and the colours?']);
    expect(fake.thread(CHANNEL, event.ts)).toHaveLength(1);
  });

  it('rejects unsigned, badly signed and stale requests before doing anything', async () => {
    const before = engine.requests.length;
    const refused = mention('hello');
    const body = messageEnvelope(refused);
    const unsigned = await sendSigned(eventsUrl, SECRET, body, 'application/json', { signature: null });
    const wrongSecret = await sendSigned(eventsUrl, 'not-the-secret', body, 'application/json');
    const tampered = await sendSigned(eventsUrl, SECRET, body, 'application/json', { signature: `v0=${'0'.repeat(64)}` });
    const stale = await sendSigned(eventsUrl, SECRET, body, 'application/json', { timestamp: Math.floor(Date.now() / 1000) - 10 * 60 });
    for (const res of [unsigned, wrongSecret, tampered, stale]) expect(res.status).toBe(401);
    // A signed question sent after them is answered; none of the refused ones got that far.
    const later = mention('[vqa] signed?', { files: [fake.addFile(scene.png)] });
    await sendEvent(messageEnvelope(later));
    await slack.settledThread(CHANNEL, later.ts);
    expect(engine.requests.slice(before).map((r) => r.question)).toEqual(['signed?']);
    expect(fake.thread(CHANNEL, refused.ts)).toEqual([]);
  });

  it('says the files:read scope is missing when Slack answers the download with its login page', async () => {
    const file = fake.addFile(scene.png, { loginPage: true });
    const event = mention('[refer] the red circle', { files: [file] });
    const before = engine.requests.length;
    await sendEvent(messageEnvelope(event));
    const [reply] = await slack.settledThread(CHANNEL, event.ts);
    expect(reply?.text).toContain('`files:read`');
    expect(engine.requests.length).toBe(before);
  });

  it('explains how to give an image when a mention starts a conversation without one', async () => {
    const event = mention('what is this?');
    await sendEvent(messageEnvelope(event));
    const [reply] = await slack.settledThread(CHANNEL, event.ts);
    expect(reply?.text).toBe(MESSAGES.noImageForMention);
  });

  it('tells the user when the attached file is not an image', async () => {
    const file = fake.addFile(Buffer.from('%PDF-1.4'), { name: 'report.pdf', mimetype: 'application/pdf' });
    const event = mention('what is this?', { files: [file] });
    await sendEvent(messageEnvelope(event));
    const [reply] = await slack.settledThread(CHANNEL, event.ts);
    expect(reply?.text).toBe('That file is not an image I can read: attach PNG, JPEG, WebP, GIF (first frame), BMP or TIFF.');
    expect(fake.callsTo('download').some((c) => c.path.includes(file.id))).toBe(false);
  });
});


describe('Slack adapter start-up', () => {
  it('refuses a bot token Slack rejects with one clear error, and opens no port', async () => {
    const wrongToken = { botToken: 'xoxb-wrong', apiRetries: 0 };
    await expect(slack.adapter({ engine }, wrongToken, { log })).rejects.toThrow(
      /^slack: could not log in with SLACK_BOT_TOKEN: .*invalid_auth/,
    );
  });
});
