import { stat, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { EXIT_FAILED, EXIT_USAGE, type Parsed, runCommandLine, UsageError } from '../command-line.ts';
import { parseBoxRef } from '../../../src/grounding/box-ref.ts';
import { identifyQuestion } from '../../../src/grounding/format.ts';
import { parseAnswer } from '../../../src/grounding/parse.ts';
import { entitiesToPixels, gridToPixels } from '../../../src/grounding/scale.ts';
import { splitTaskTag } from '../../../src/grounding/task-tag.ts';
import { Engine } from '../../../src/inference/engine.ts';
import { InputError } from '../../../src/inference/errors.ts';
import { DEFAULT_MODEL_DIR } from '../../../src/inference/model-dir.ts';
import { readModelInfo } from '../../../src/inference/model-config.ts';
import type { Device } from '../../../src/inference/sessions.ts';
import type { GenerateResult, TaskId, Turn } from '../../../src/inference/types.ts';
import type { Box, Entity, ImageSize } from '../../../src/grounding/types.ts';
import { LimitsConfig } from '../../../src/config/schema.ts';
import { type CheckedImage, checkImage } from '../../../src/bot/image.ts';
import { message } from '../../../src/bot/messages.ts';
import { annotateOffThread } from '../../../src/render/off-thread.ts';
import { describeAnswer } from '../../../src/render/describe.ts';

export const summary = 'one question about an image, and follow-ups: --image PATH [--model DIR] [--task T] [--follow-up TEXT] [--json] "TEXT"';

const LINE = {
  name: 'ask',
  usage: 'minigpt-bot ask --image PATH [options] "TEXT"',
  options: {
    image: { type: 'string' },
    model: { type: 'string' },
    task: { type: 'string' },
    device: { type: 'string' },
    seed: { type: 'string' },
    greedy: { type: 'boolean' },
    json: { type: 'boolean' },
    out: { type: 'string' },
    'max-tokens': { type: 'string' },
    'follow-up': { type: 'string', multiple: true },
  },
  positionals: { name: 'TEXT', min: 0, max: Number.POSITIVE_INFINITY },
  help: `TEXT may start with a task identifier: "[refer] the red circle". [identify] takes a region as the chat
commands do: x1,y1,x2,y2 in pixels, 10%,20%,30%,40%, or #2 for a box of the previous answer.
  --model DIR        model directory (default: ${DEFAULT_MODEL_DIR})
  --task T           vqa, caption, grounding, refer, identify, detection or chat (default: from TEXT, else chat)
  --device D         cpu (default), webgpu or cuda; falls back to cpu when unavailable
  --greedy           greedy decoding instead of the model's sampling
  --seed N           seed for sampling, to reproduce an answer
  --max-tokens N     stop after N new tokens
  --follow-up TEXT   ask TEXT next in the same conversation (repeatable; may start with a task identifier)
  --json             print {task, raw, text, entities, timings, followUps, load, counters} as one JSON object
  --out FILE         write the image with the last answer's boxes drawn: .png, .jpg or .webp`,
} as const;
/** Full-resolution colour, so the 2-px box lines stay sharp. */
const jpeg = (image: Sharp): Sharp => image.jpeg({ quality: 92, chromaSubsampling: '4:4:4' });
/** What --out can write, by extension. */
const OUT_FORMATS: Record<string, (image: Sharp) => Sharp> = {
  '.png': (image) => image.png(),
  '.jpg': jpeg,
  '.jpeg': jpeg,
  '.webp': (image) => image.webp({ lossless: true }),
};
const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];
/** A local file has no upload limit; this only stops a runaway encode. */
const OUT_MAX_BYTES = 64 * 1024 * 1024;

interface Question {
  task: TaskId;
  text: string;
}

interface AskArgs {
  image: string;
  model: string;
  /** The first question, then each follow-up, in order. */
  questions: Question[];
  device: Device;
  json: boolean;
  out?: string;
  greedy: boolean;
  seed?: number;
  maxTokens?: number;
}

async function checkArgs({ values, positionals }: Parsed<typeof LINE.options>): Promise<AskArgs> {
  if (!values.image) throw new UsageError('--image PATH is required');
  const tagged = splitTaskTag(positionals.join(' '));
  let task = tagged.task;
  if (values.task !== undefined) {
    task = splitTaskTag(`[${values.task}]`).task;
    if (!task) throw new UsageError(`unknown --task '${values.task}' (vqa, caption, grounding, refer, identify, detection, chat)`);
  }
  if (!tagged.text && (task === undefined || task === 'chat')) throw new UsageError('nothing to ask: give the question as TEXT');
  const followUps = (values['follow-up'] ?? []).map((text): Question => {
    const next = splitTaskTag(text);
    if (!next.text && (next.task === undefined || next.task === 'chat')) throw new UsageError('--follow-up needs a question');
    return { task: next.task ?? 'chat', text: next.text };
  });
  const device = (values.device ?? 'cpu') as Device;
  if (!DEVICES.includes(device)) throw new UsageError(`unknown --device '${values.device}' (cpu, webgpu, cuda)`);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got '${values.seed}'`);
  const maxTokens = values['max-tokens'] === undefined ? undefined : Number(values['max-tokens']);
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    throw new UsageError(`--max-tokens must be a positive integer, got '${values['max-tokens']}'`);
  }
  return {
    image: values.image,
    model: values.model ?? DEFAULT_MODEL_DIR,
    questions: [{ task: task ?? 'chat', text: tagged.text }, ...followUps],
    device,
    json: values.json === true,
    out: values.out === undefined ? undefined : await checkOut(values.out),
    greedy: values.greedy === true,
    seed,
    maxTokens,
  };
}

/** Refuses, before the model loads, an --out that names no known format or a folder that is not there. */
async function checkOut(out: string): Promise<string> {
  if (!OUT_FORMATS[extname(out).toLowerCase()]) throw new UsageError(`--out must end in ${Object.keys(OUT_FORMATS).join(', ')}: '${out}'`);
  const folder = await stat(dirname(out)).catch(() => undefined);
  if (!folder?.isDirectory()) throw new UsageError(`cannot write '${out}': no folder '${dirname(out)}'`);
  return out;
}

async function writeOut(out: string, png: Uint8Array): Promise<void> {
  await writeFile(out, await OUT_FORMATS[extname(out).toLowerCase()]!(sharp(png)).toBuffer());
}


/** A question as the model gets it, and for [identify] the region it asks about, in pixels. */
interface Prepared {
  text: string;
  region?: Box;
}

/**
 * [identify] with a region in pixels, percentages or #N becomes the model's question about that box on its grid,
 * as the chat commands ask it; a question that already holds a grid box is sent as it is.
 */
function prepare(question: Question, size: ImageSize | undefined, previous: readonly Entity[]): Prepared {
  if (question.task !== 'identify' || !size) return { text: question.text };
  const grid = /\{<(\d+)><(\d+)><(\d+)><(\d+)>\}/.exec(question.text);
  if (grid) return { text: question.text, region: gridToPixels(grid.slice(1).map(Number) as Box, size) };
  const box = parseBoxRef(question.text, size, previous);
  if (!box.ok) throw new UsageError(message(box.error, box.context));
  return { text: identifyQuestion(box.value.grid), region: box.value.pixels };
}

const ms = (value: number): number => Math.round(value * 10) / 10;
/** The process's peak resident memory so far, the inference worker's included (threads share it). */
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

interface Report {
  text: string;
  json: Record<string, unknown>;
  pixelEntities: ReturnType<typeof entitiesToPixels>;
}

function report(question: Question, result: GenerateResult, region: Box | undefined): Report {
  const parsed = parseAnswer(result.raw);
  // an [identify] answer is a phrase: its box is the region asked about, labelled with it (as in chat)
  const pixelEntities = region ? [{ phrase: parsed.text, boxes: [region] }] : entitiesToPixels(parsed.entities, result.imageSize);
  const t = result.timings;
  const json = {
    task: question.task,
    raw: result.raw,
    text: parsed.text,
    entities: pixelEntities,
    timings: {
      preprocess: ms(t.preprocessMs),
      vision: ms(t.visionMs),
      prefill: ms(t.prefillMs),
      firstToken: ms(t.firstTokenMs),
      decode: ms(t.decodeMs),
      tokens: t.tokens,
      prefillTokens: t.prefillTokens,
      // decode time covers every token after the first, which the prefill gave
      msPerToken: t.tokens > 1 ? ms(t.decodeMs / (t.tokens - 1)) : null,
    },
    visionCached: result.visionCached,
  };
  return { text: describeAnswer(parsed.text, pixelEntities), json, pixelEntities };
}

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, async (parsed) => {
    const args = await checkArgs(parsed);
    const image = await readFile(args.image).catch(() => {
      throw new UsageError(`cannot read image '${args.image}'`);
    });
    await readModelInfo(args.model).catch((err: Error) => {
      throw new UsageError(`${err.message}${args.model === DEFAULT_MODEL_DIR ? ' (the trained default model is not installed; try --model models/mini)' : ''}`);
    });
    // the bot's own check, with the default limits: the same formats and sizes as in a chat
    const checked = await checkImage({ bytes: image, name: basename(args.image) }, LimitsConfig.parse({}));
    if (!checked.ok) throw new UsageError(message(checked.error.identifier, checked.error.context));
    prepare(args.questions[0]!, checked.value.size, []); // a bad region stops before the model loads
    return answer(args, checked.value);
  });
}

async function answer(args: AskArgs, image: CheckedImage): Promise<number> {
  const loadStarted = performance.now();
  let engine: Engine;
  try {
    engine = await Engine.load(args.model, { device: args.device, warn: (line) => console.error(line) });
  } catch (err) {
    // a damaged or incomplete model folder: one line, as for the other start-up failures
    console.error(`minigpt-bot ask: ${(err as Error).message.split('\n')[0]}`);
    return EXIT_FAILED;
  }
  const load = { ms: ms(performance.now() - loadStarted), device: engine.device, peakRssMb: peakRssMb() };
  try {
    const generation = {
      ...(args.greedy ? { doSample: false } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.maxTokens !== undefined ? { maxNewTokens: args.maxTokens } : {}),
    };
    const history: Turn[] = [];
    const reports: Report[] = [];
    for (const question of args.questions) {
      const drawn = [...reports].reverse().find((r) => r.pixelEntities.length > 0);
      const { text, region } = prepare(question, image.size, drawn?.pixelEntities ?? []);
      const result = await engine.generate({
        conversation: 'cli',
        image: image.bytes,
        imageHash: image.hash,
        history: [...history],
        task: question.task,
        question: text,
        generation,
      });
      history.push({ task: question.task, question: text, answer: result.raw });
      reports.push(report(question, result, region));
      if (!args.json) console.log(args.questions.length > 1 ? `> ${question.text}\n${reports.at(-1)!.text}` : reports.at(-1)!.text);
    }
    if (args.out) {
      const drawn = await annotateOffThread(image.bytes, reports.at(-1)!.pixelEntities, { maxBytes: OUT_MAX_BYTES });
      await writeOut(args.out, drawn.bytes);
      if (!args.json) console.log(`saved: ${args.out}`);
    }
    if (args.json) {
      const [first, ...followUps] = reports.map((r) => r.json);
      const saved = args.out ? { saved: args.out } : {};
      console.log(JSON.stringify({ ...first, followUps, load, counters: await engine.counters(), peakRssMb: peakRssMb(), ...saved }));
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InputError || err instanceof UsageError)) throw err;
    console.error(`minigpt-bot ask: ${err instanceof InputError ? message(err.problem, err.context) : err.message}`);
    return EXIT_USAGE;
  } finally {
    await engine.close();
  }
}
