import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { start, type WebAdapter } from '../adapters/web/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import type { Box } from '../src/grounding/types.ts';
import { Engine } from '../src/inference/engine.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { createLog } from '../src/log.ts';
import { drawScene } from './helpers/scene.ts';

const KEY = 'sk-test-web-api';

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (r: Box) => (r[2] - r[0]) * (r[3] - r[1]);
  return (w * h) / (area(a) + area(b) - w * h);
}

const dataUrl = (bytes: Uint8Array, type = 'image/png'): string =>
  `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
type Entities = { phrase: string; boxes: Box[] }[];

// The official OpenAI client against the bot's API, answered by the trained default model.
describe('GIVEN the OpenAI-compatible API on the default model', () => {
  let engine: Engine;
  let server: WebAdapter;
  let client: OpenAI;
  let model: string;
  const scene = drawScene(3);
  const target = scene.objects[0]!;
  const image = dataUrl(scene.png);
  const opening = `[refer] the ${target.colour} ${target.shape}`;
  const firstMessage = {
    role: 'user' as const,
    content: [
      { type: 'text' as const, text: opening },
      { type: 'image_url' as const, image_url: { url: image } },
    ],
  };

  beforeAll(async () => {
    engine = await Engine.load(DEFAULT_MODEL_DIR);
    model = engine.model.name;
    const bot = createBot({ engine, plugins: PLUGINS, settings: { limits: { perUser: { requests: 50 } } } });
    server = await start(
      bot,
      { enabled: true, port: 0, host: '127.0.0.1', imageHosts: ['images.example.invalid'] },
      { apiKeys: [KEY] },
      { model, imageMegabytes: 1 },
      createLog('silent'),
    );
    client = new OpenAI({ apiKey: KEY, baseURL: `${server.url}v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await engine?.close();
  });

  test('WHEN the models are listed THEN the one model served is there', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([model]);
  });

  test('WHEN asked with an image THEN the answer names the box, returned as entities over the object', async () => {
    const completion = await client.chat.completions.create({ model, messages: [firstMessage] });
    const message = completion.choices[0]!.message as (typeof completion.choices)[0]['message'] & {
      entities: Entities;
    };
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]!.finish_reason).toBe('stop');
    expect(message.content).toMatch(/^#1\b.* — red box at \(\d+, \d+\)–\(\d+, \d+\)$/);
    expect(message.entities).toHaveLength(1);
    expect(iou(message.entities[0]!.boxes[0]!, target.box)).toBeGreaterThan(0.5);
  });

  test('WHEN the conversation is sent again with a follow-up THEN the vision model does not run again', async () => {
    const first = await client.chat.completions.create({ model, messages: [firstMessage] });
    const before = await engine.counters();
    const followUp = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'ignored' },
        firstMessage,
        { role: 'assistant', content: first.choices[0]!.message.content },
        { role: 'user', content: '[identify] #1' },
      ],
    });
    const after = await engine.counters();
    expect(after.visionRuns - before.visionRuns).toBe(0);
    expect(after.cacheHits - before.cacheHits).toBe(1);
    // only the new question and its framing are computed: the earlier turn's positions are reused
    expect(after.prefillTokens - before.prefillTokens).toBeLessThan(40);
    expect((followUp as unknown as { minigpt: { visionCached: boolean; task: string } }).minigpt).toMatchObject({
      visionCached: true,
      task: 'identify',
    });
    expect(followUp.choices[0]!.message.content).toContain(target.shape);
  });

  test('WHEN streamed THEN the chunks add up to the same answer, the boxes arriving in the last one', async () => {
    const describe = {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: '[grounding] describe this image' },
        { type: 'image_url' as const, image_url: { url: image } },
      ],
    };
    const plain = await client.chat.completions.create({ model, messages: [describe], seed: 1 });
    const stream = await client.chat.completions.create({ model, messages: [describe], stream: true, seed: 1 });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id)).toBe(true);
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe(plain.choices[0]!.message.content);
    const last = chunks.at(-1)!.choices[0]!;
    expect(last.finish_reason).toBe('stop');
    expect((last.delta as { entities?: Entities }).entities).toEqual(
      (plain.choices[0]!.message as unknown as { entities: Entities }).entities,
    );
  });

  test('WHEN max_tokens cuts the answer THEN finish_reason says length', async () => {
    const short = await client.chat.completions.create({ model, messages: [firstMessage], max_tokens: 2 });
    expect(short.choices[0]!.finish_reason).toBe('length');
  });

  test("WHEN the key is wrong THEN the client gets a 401 in OpenAI's error shape", async () => {
    const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${server.url}v1`, maxRetries: 0 });
    const error = await wrong.chat.completions.create({ model, messages: [firstMessage] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
  });

  test('WHEN the image is not an image, too large or from an unlisted host THEN a 400 says which', async () => {
    const ask = (url: string) =>
      client.chat.completions
        .create({
          model,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'what is it?' },
                { type: 'image_url', image_url: { url } },
              ],
            },
          ],
        })
        .then(
          () => expect.fail('the request was answered'),
          (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
        );
    const notImage = await ask(dataUrl(new TextEncoder().encode('hello, not a picture')));
    expect(notImage).toBeInstanceOf(OpenAI.BadRequestError);
    expect(notImage.message).toMatch(/could not read .* as an image/);
    const huge = await ask(dataUrl(new Uint8Array(1.5 * 1024 * 1024)));
    expect(huge.status).toBe(400);
    expect(huge.message).toMatch(/over the 1\.0 MB limit/);
    const elsewhere = await ask('https://attacker.example.com/cat.png');
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.message).toMatch(/not fetched from attacker\.example\.com/);
    const noImage = await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hello' }] })
      .catch((e: unknown) => e);
    expect(noImage).toBeInstanceOf(OpenAI.BadRequestError);
    const several = await client.chat.completions.create({ model, n: 2, messages: [firstMessage] }).catch((e: unknown) => e);
    expect(several).toBeInstanceOf(OpenAI.BadRequestError);
    expect((several as Error).message).toContain('n: this server gives one choice per request; leave n out or set it to 1');
    const otherModel = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [firstMessage] })
      .catch((e: unknown) => e);
    expect(otherModel).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test("WHEN a user message is over the chats' 1,000 characters THEN a 400 says so in their words", async () => {
    const long = 'é'.repeat(1001);
    const before = await engine.counters();
    const error = await client.chat.completions
      .create({
        model,
        messages: [
          { role: 'system', content: 'x'.repeat(5000) },
          { role: 'user', content: [{ type: 'text', text: long }, { type: 'image_url', image_url: { url: image } }] },
          { role: 'assistant', content: 'y'.repeat(3000) },
          { role: 'user', content: 'and now?' },
        ],
      })
      .then(
        () => expect.fail('the request was answered'),
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBe('string_above_max_length');
    expect(error.param).toBe('messages.1.content');
    expect(error.message).toContain('Your message is 1001 characters long; the limit is 1000. Please shorten it.');
    // Refused before the model: nothing was prefilled.
    expect((await engine.counters()).prefillTokens).toBe(before.prefillTokens);
    // 1,000 characters exactly, with long system and assistant messages, is answered.
    const fits = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'x'.repeat(5000) },
        {
          role: 'user',
          content: [
            { type: 'text', text: `[refer] ${'a'.repeat(992)}` },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
      max_tokens: 4,
    });
    expect(fits.choices[0]!.message.role).toBe('assistant');
  });
});
