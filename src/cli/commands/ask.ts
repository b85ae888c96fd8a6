import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXIT_USAGE } from '../main.ts';
import { parseAnswer } from '../../grounding/parse.ts';
import { entitiesToPixels } from '../../grounding/scale.ts';
import { splitTaskTag } from '../../grounding/task-tag.ts';
import { Engine } from '../../inference/engine.ts';
import { InputError } from '../../inference/errors.ts';
import { DEFAULT_MODEL_DIR } from '../../inference/model-dir.ts';
import { readModelInfo } from '../../inference/model-config.ts';
import type { Device } from '../../inference/sessions.ts';
import type { GenerateResult, TaskId, Turn } from '../../inference/types.ts';
import { annotate } from '../../render/annotate.ts';
import { describeAnswer } from '../../render/describe.ts';

export const summary = 'one question about an image, and follow-ups: --image PATH [--model DIR] [--task T] [--follow-up TEXT] [--json] "TEXT"';

const USAGE = `usage: minigpt-bot ask --image PATH [options] "TEXT"
  TEXT may start with a task identifier: "[refer] the red circle"
  --model DIR        model directory (default: ${DEFAULT_MODEL_DIR})
  --task T           vqa, caption, grounding, refer, identify, detection or chat (default: from TEXT, else chat)
  --device D         cpu (default), webgpu or cuda; falls back to cpu when unavailable
  --greedy           greedy decoding instead of the model's sampling
  --seed N           seed for sampling, to reproduce an answer
  --max-tokens N     stop after N new tokens
  --follow-up TEXT   ask TEXT next in the same conversation (repeatable; may start with a task identifier)
  --json             print {task, raw, text, entities, timings, followUps, load, counters} as one JSON object
  --out FILE.png     write the image with the boxes drawn (of the last answer)`;
const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];
/** A local file has no upload limit; this only stops a runaway encode. */
const OUT_MAX_BYTES = 64 * 1024 * 1024;

class UsageError extends Error {}

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

function parse(argv: string[]): AskArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        image: { type: 'string' },
        model: { type: 'string' },
        task: { type: 'string' },
        device: { type: 'string' },
        seed: { type: 'string' },
        greedy: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        'max-tokens': { type: 'string' },
        'follow-up': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
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
    json: values.json,
    out: values.out,
    greedy: values.greedy,
    seed,
    maxTokens,
  };
}

const ms = (value: number): number => Math.round(value * 10) / 10;
/** The process's peak resident memory so far, the inference worker's included (threads share it). */
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

interface Report {
  text: string;
  json: Record<string, unknown>;
  pixelEntities: ReturnType<typeof entitiesToPixels>;
}

function report(question: Question, result: GenerateResult): Report {
  const parsed = parseAnswer(result.raw);
  const pixelEntities = entitiesToPixels(parsed.entities, result.imageSize);
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

export async function run(argv: string[]): Promise<number> {
  let args: AskArgs;
  let image: Uint8Array;
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      console.log(USAGE);
      return 0;
    }
    args = parsed;
    image = await readFile(args.image).catch(() => {
      throw new UsageError(`cannot read image '${args.image}'`);
    });
    await readModelInfo(args.model).catch((err: Error) => {
      throw new UsageError(`${err.message}${args.model === DEFAULT_MODEL_DIR ? ' (the trained default model is not installed; try --model models/mini)' : ''}`);
    });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`minigpt-bot ask: ${err.message} (see minigpt-bot ask --help)`);
    return EXIT_USAGE;
  }
  const loadStarted = performance.now();
  const engine = await Engine.load(args.model, { device: args.device, warn: (line) => console.error(line) });
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
      const result = await engine.generate({ conversation: 'cli', image, history: [...history], task: question.task, question: question.text, generation });
      history.push({ task: question.task, question: question.text, answer: result.raw });
      reports.push(report(question, result));
      if (!args.json) console.log(args.questions.length > 1 ? `> ${question.text}\n${reports.at(-1)!.text}` : reports.at(-1)!.text);
    }
    if (args.out) {
      const drawn = await annotate(image, reports.at(-1)!.pixelEntities, { maxBytes: OUT_MAX_BYTES });
      await writeFile(args.out, drawn.bytes);
    }
    if (args.json) {
      const [first, ...followUps] = reports.map((r) => r.json);
      console.log(JSON.stringify({ ...first, followUps, load, counters: await engine.counters(), peakRssMb: peakRssMb() }));
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    console.error(`minigpt-bot ask: ${err.message}`);
    return EXIT_USAGE;
  } finally {
    await engine.close();
  }
}
