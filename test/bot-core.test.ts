import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { createBot } from '../src/bot/core.ts';
import { shownText } from '../src/bot/reply-text.ts';
import { pixelsToGrid } from '../src/grounding/scale.ts';
import { formatBox } from '../src/grounding/format.ts';
import type { Box } from '../src/grounding/types.ts';
import { InputError } from '../src/inference/errors.ts';
import { PALETTE } from '../src/render/palette.ts';
import { createLog } from '../src/log.ts';
import { PLUGINS } from '../plugins/index.ts';
import { findDrawnBox } from './helpers/drawn-boxes.ts';
import { MockAdapter } from './helpers/mock-adapter.ts';
import { drawScene } from './helpers/scene.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

const scene = drawScene({
  width: 400,
  height: 300,
  objects: [
    { colour: 'red', shape: 'circle', box: [40, 50, 140, 150] },
    { colour: 'blue', shape: 'square', box: [250, 120, 350, 220] },
  ],
});
const otherScene = drawScene(7);
const size = { width: scene.width, height: scene.height };
const red = scene.objects[0]!;
const blue = scene.objects[1]!;
/** What a model that found the object would write: its box on the 100-grid. */
const gridToken = (box: Box): string => formatBox(pixelsToGrid(box, size));

function setup(answer: ConstructorParameters<typeof ScriptedEngine>[0] = () => 'a red circle and a blue square') {
  const engine = new ScriptedEngine(answer);
  const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS }));
  return { engine, chat };
}

describe('GIVEN a channel with a scene', () => {
  test('WHEN the user asks /refer with the image THEN the box is drawn around that object and numbered in the text', async () => {
    const { chat, engine } = setup(() => gridToken(red.box));
    const { reply } = await chat.send('/refer the red circle', { image: { bytes: scene.png } });
    expect(engine.requests[0]).toMatchObject({ task: 'refer', question: 'the red circle', history: [] });
    expect(reply.kind).toBe('answer');
    expect(reply.text).toMatch(/^#1 the red circle — red box at/);
    const drawn = findDrawnBox(reply.image!.bytes, PALETTE[0]!.rgb)!;
    expect(drawn).not.toBeNull();
    drawn.forEach((v, i) => {
      expect(Math.abs(v - red.box[i]!)).toBeLessThanOrEqual(6);
    });
  });

  test('WHEN the platform allows only a small upload THEN the image is reduced to fit and the text says so', async () => {
    const engine = new ScriptedEngine(() => gridToken(red.box));
    const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS }), {}, { imageBytes: 2_500 });
    const { reply } = await chat.send('/refer the red circle', { image: { bytes: scene.png } });
    expect(reply.image!.bytes.length).toBeLessThanOrEqual(2_500);
    expect(reply.text).toContain('reduced to fit the upload limit');
  });

  test('WHEN a follow-up comes without an image THEN it uses the conversation image and the earlier turns', async () => {
    const { chat, engine } = setup(() => 'a circle');
    await chat.send('/vqa what shape is red?', { image: { bytes: scene.png } });
    const { reply } = await chat.send('/vqa and what colour is the square?');
    expect(reply.kind).toBe('answer');
    const [first, second] = engine.requests;
    expect(second!.conversation).toBe(first!.conversation);
    expect(second!.history).toEqual([{ task: 'vqa', question: 'what shape is red?', answer: 'a circle' }]);
  });

  test('WHEN another image arrives THEN a new conversation starts and the engine forgets the old one', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image: { bytes: scene.png } });
    await chat.send('/caption', { image: { bytes: otherScene.png } });
    expect(engine.requests[1]!.history).toEqual([]);
    expect(engine.forgotten).toEqual([engine.requests[0]!.conversation]);
  });

  test('WHEN the user points at #2 of the last answer THEN identify asks about that box', async () => {
    const { chat, engine } = setup((r) =>
      r.task === 'detection' ? `<p>shape</p> ${gridToken(red.box)}<delim>${gridToken(blue.box)}` : 'a blue square',
    );
    const detected = await chat.send('/detect shape', { image: { bytes: scene.png } });
    expect(detected.reply.text).toContain('#2 shape');
    const { reply } = await chat.send('/identify #2');
    expect(engine.requests[1]!.question).toBe(`what is this ${gridToken(blue.box)}`);
    expect(reply.text).toContain('#1 a blue square');
  });

  test('WHEN identify names a box that does not exist THEN a short explanation comes back and the model is not run', async () => {
    const { chat, engine } = setup(() => gridToken(red.box));
    await chat.send('/refer the red circle', { image: { bytes: scene.png } });
    const { reply } = await chat.send('/identify #4');
    expect(reply).toMatchObject({ kind: 'user-error', text: 'There is no box #4: the last answer has #1.' });
    expect((await chat.send('/identify 10,20,9000,40')).reply.text).toMatch(/goes past the image, which is 400×300/);
    expect(engine.requests).toHaveLength(1);
  });

  test('WHEN identify gets percentages THEN the box is scaled to the image', async () => {
    const { chat, engine } = setup(() => 'a red circle');
    const { reply } = await chat.send('/identify 10%,20%,35%,50%', { image: { bytes: scene.png } });
    expect(engine.requests[0]!.question).toBe('what is this {<10><20><35><50>}');
    expect(reply.text).toContain('#1 a red circle — red box at (40, 60)–(140, 150)');
  });

  test('WHEN chat text starts with a task tag THEN that task runs', async () => {
    const { chat, engine } = setup(() => gridToken(red.box));
    await chat.send('[refer] the red circle', { image: { bytes: scene.png } });
    await chat.send('what is in the picture?');
    await chat.send('[identify] #1');
    expect(engine.requests.map((r) => [r.task, r.question])).toEqual([
      ['refer', 'the red circle'],
      ['chat', 'what is in the picture?'],
      ['identify', `what is this ${gridToken(red.box)}`],
    ]);
  });

  test('WHEN a chat line is tagged [refer] or [identify] THEN it is answered and labelled as that command would be', async () => {
    const { chat, engine } = setup((r) => (r.task === 'refer' ? gridToken(red.box) : 'a red circle'));
    const referred = await chat.send('[refer] the red circle', { image: { bytes: scene.png } });
    expect(referred.reply.text).toMatch(/^#1 the red circle — red box at \(40, 48\)–\(140, 150\)/);
    const identified = await chat.send('[identify] #1');
    expect(engine.requests[1]!.question).toBe('what is this {<10><16><35><50>}');
    expect(identified.reply.text).toBe('a red circle\n#1 a red circle — red box at (40, 48)–(140, 150)');
  });

  test('WHEN [identify] is followed by a box that cannot be read THEN the user hears why and the model is not run', async () => {
    const { chat, engine } = setup();
    const { reply } = await chat.send('[identify] 1,2,3', { image: { bytes: scene.png } });
    expect(reply).toMatchObject({ kind: 'user-error' });
    expect(reply.text).toMatch(/^I could not read "1,2,3" as a box\./);
    await chat.send('[identify] what is this {<10><20><30><40>}');
    expect(engine.requests.map((r) => r.question)).toEqual(['what is this {<10><20><30><40>}']);
  });

  test('WHEN caption and ground get no text THEN the official demo wording is sent', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image: { bytes: scene.png } });
    await chat.send('/ground');
    expect(engine.requests.map((r) => [r.task, r.question])).toEqual([
      ['caption', 'briefly describe this image.'],
      ['grounding', 'describe this image in detail'],
    ]);
  });

  test('WHEN the answer streams THEN the adapter sees the people text grow without box tokens', async () => {
    const { chat } = setup(() => `<p>the red circle</p> ${gridToken(red.box)} is left of the square`);
    const { streamed, reply } = await chat.send('/ground', { image: { bytes: scene.png } });
    expect(streamed.at(-1)).toBe('the red circle is left of the square');
    expect(streamed.some((t) => t.includes('<'))).toBe(false);
    expect(reply.text.split('\n')[0]).toBe('the red circle is left of the square');
  });

  test('WHEN /reset runs THEN the image and turns are gone and the engine forgets them', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image: { bytes: scene.png } });
    expect((await chat.send('/reset')).reply).toMatchObject({ kind: 'info', text: expect.stringMatching(/^Conversation cleared/) });
    expect(engine.forgotten).toEqual([engine.requests[0]!.conversation]);
    expect((await chat.send('/caption')).reply).toMatchObject({ kind: 'user-error', text: expect.stringMatching(/needs an image/) });
    expect((await chat.send('/reset')).reply.text).toBe('There was nothing to clear.');
  });

  test('WHEN two channels talk at once THEN each keeps its own image', async () => {
    const { chat, engine } = setup();
    await chat.send('/caption', { image: { bytes: scene.png }, channel: 'a' });
    await chat.send('/caption', { image: { bytes: otherScene.png }, channel: 'b' });
    await chat.send('/vqa again?', { channel: 'a' });
    expect(engine.requests[2]!.conversation).toBe(engine.requests[0]!.conversation);
    expect(engine.requests[2]!.history).toHaveLength(1);
    expect(engine.forgotten).toEqual([]);
  });
});

describe('GIVEN user mistakes', () => {
  test('THEN each gets one short reply naming the problem', async () => {
    const { chat, engine } = setup();
    const cases: [string, Parameters<MockAdapter['send']>[1], RegExp][] = [
      ['/vqa what is it?', {}, /needs an image/],
      ['/vqa', { image: { bytes: scene.png } }, /^\/vqa needs question/],
      ['/caption', { image: { bytes: new TextEncoder().encode('not a picture'), name: 'notes.txt' } }, /could not read notes.txt as an image/],
      ['/caption', { image: { bytes: new Uint8Array(0), name: 'empty.png' } }, /^empty.png is empty \(0 bytes\)\.$/],
      ['/frobnicate', {}, /There is no \/frobnicate command/],
    ];
    for (const [line, options, expected] of cases) {
      const { reply } = await chat.send(line, options);
      expect(reply.kind, line).toBe('user-error');
      expect(reply.text, line).toMatch(expected);
    }
    expect(engine.requests).toEqual([]);
  });

  test('WHEN the model finds no box for /refer THEN the text says so and no image is attached', async () => {
    const { chat } = setup(() => 'I cannot see that');
    const { reply } = await chat.send('/refer a unicorn', { image: { bytes: scene.png } });
    expect(reply.image).toBeUndefined();
    expect(reply.text).toBe('I cannot see that\nThe answer holds no box, so there is nothing to draw.');
  });

  test('WHEN the model declares a narrow domain THEN the first answer of a conversation says so, once', async () => {
    const engine = new ScriptedEngine(() => 'a red circle', 1, { domain: 'coloured shapes' });
    const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS }));
    const note = 'Note: this model knows only coloured shapes; other images get confident nonsense. For photographs, '
      + 'run the official MiniGPT-v2 (see "Run the real model" in the README).';
    const first = (await chat.send('/vqa what is it?', { image: { bytes: scene.png } })).reply;
    expect(first).toMatchObject({ text: 'a red circle', notice: note });
    expect(shownText(first)).toBe(`a red circle\n${note}`);
    expect((await chat.send('/vqa and now?')).reply.notice).toBeUndefined();
    expect((await chat.send('/vqa elsewhere?', { channel: 'c2', image: { bytes: scene.png } })).reply.notice).toBe(note);
  });

  test('WHEN the answer stopped at the token limit THEN the text says it was cut off', async () => {
    const { chat } = setup(() => ({ raw: 'the red circle is next to the blue square and the', cut: true }));
    const { reply } = await chat.send('/vqa what is where?', { image: { bytes: scene.png } });
    expect(reply.text).toBe('the red circle is next to the blue square and the\n(The answer was cut off: it reached the length limit.)');
  });
});

describe('GIVEN the engine fails', () => {
  test('WHEN it is unexpected THEN the chat gets one generic line and the log gets the command and error', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(String(chunk));
        done();
      },
    });
    const engine = new ScriptedEngine(() => {
      throw new Error('decoder exploded at step 3');
    });
    const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS, log: createLog('info', sink) }));
    const { reply } = await chat.send('/vqa what?', { image: { bytes: scene.png } });
    expect(reply).toEqual({
      kind: 'error',
      error: 'unexpected',
      text: 'Something went wrong while answering; it has been logged. Please try again.',
    });
    const logged = JSON.parse(lines[0]!);
    expect(logged).toMatchObject({ level: 50, command: 'vqa', plugin: 'vqa', msg: 'request failed' });
    expect(logged.err.message).toBe('decoder exploded at step 3');
  });

  test('WHEN the engine refuses the input THEN its short reason reaches the user', async () => {
    const engine = new ScriptedEngine(() => {
      throw new InputError('conversation-too-long', { used: 2100, limit: 2000 });
    });
    const chat = new MockAdapter(createBot({ engine, plugins: PLUGINS }));
    const { reply } = await chat.send('/vqa what?', { image: { bytes: scene.png } });
    expect(reply).toEqual({
      kind: 'user-error',
      error: 'conversation-too-long',
      text: 'That message is too long for this model (2100 of 2000 positions with the image): shorten it.',
    });
  });
});
