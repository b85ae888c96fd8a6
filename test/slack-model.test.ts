import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start, type SlackAdapter } from '../adapters/slack/index.ts';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import type { Box } from '../src/grounding/types.ts';
import { Engine } from '../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { PALETTE } from '../src/render/palette.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { drawScene } from './helpers/scene.ts';

const SECRET = 'signing-secret-for-tests';

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r: Box) => (r[2] - r[0]) * (r[3] - r[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

// The trained default model is what users get: asked in Slack, it must box the object it was asked about.
describe('Slack with the trained default model', () => {
  let fake: FakeSlack;
  let engine: Engine;
  let adapter: SlackAdapter;

  beforeAll(async () => {
    fake = await FakeSlack.start();
    engine = await Engine.load(DEFAULT_MODEL_DIR);
    const bot = createBot({ engine, plugins: PLUGINS });
    adapter = await start(
      bot,
      { botToken: fake.botToken, signingSecret: SECRET, port: 0, host: '127.0.0.1', apiUrl: fake.apiUrl, apiRetries: 0 },
      { debug() {}, info() {}, warn() {}, error() {} },
      { env: {} },
    );
  });

  afterAll(async () => {
    await adapter?.stop();
    await engine?.close();
    await fake?.close();
  });

  it('uploads into the thread a PNG whose first box is drawn around the object the mention names', async () => {
    const scene = drawScene(3);
    const target = scene.objects[0]!;
    const file = fake.addFile(scene.png, { name: 'scene.png' });
    const ts = '1900000000.000100';
    const body = messageEnvelope({
      team: fake.team,
      channel: 'C0MODEL',
      user: 'U0ALICE',
      text: `<@${fake.botUserId}> [refer] the ${target.colour} ${target.shape}`,
      ts,
      files: [file],
    });
    expect((await sendSigned(`http://127.0.0.1:${adapter.port}/slack/events`, SECRET, body, 'application/json')).status).toBe(200);

    const answer = await fake.waitFor(
      () => fake.thread('C0MODEL', ts).find((m) => !m.text.includes(MESSAGES.working) && !m.text.endsWith(MESSAGES.streamingMark)),
      'the answer',
      90_000,
    );
    const upload = await fake
      .waitFor(() => [...fake.uploads.values()].find((u) => u.threadTs === ts && u.bytes.length > 0), 'the upload', 5_000)
      .catch(() => expect.fail(`no annotated image; the answer was: ${answer.text}`));
    expect(upload.channel).toBe('C0MODEL');
    const drawn = findDrawnBox(upload.bytes, PALETTE[0]!.rgb);
    expect(drawn).not.toBeNull();
    expect(iou(drawn!, target.box)).toBeGreaterThan(0.5);
  });
});
