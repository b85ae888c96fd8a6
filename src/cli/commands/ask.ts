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
import type { GenerateResult, TaskId } from '../../inference/types.ts';
import { annotate } from '../../render/annotate.ts';
import { describeAnswer } from '../../render/describe.ts';

export const summary = 'one question about an image: --image PATH [--model DIR] [--task T] [--json] [--out FILE.png] "TEXT"';

const USAGE = `usage: minigpt-bot ask --image PATH [options] "TEXT"
  TEXT may start with a task identifier: "[refer] the red circle"
  --model DIR        model directory (default: ${DEFAULT_MODEL_DIR})
  --task T           vqa, caption, grounding, refer, identify, detection or chat (default: from TEXT, else chat)
  --device D         cpu (default), webgpu or cuda; falls back to cpu when unavailable
  --greedy           greedy decoding instead of the model's sampling
  --seed N           seed for sampling, to reproduce an answer
  --max-tokens N     stop after N new tokens
  --json             print {task, raw, text, entities, timings} as one JSON object
  --out FILE.png     write the image with the boxes drawn`;
const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];
/** A local file has no upload limit; this only stops a runaway encode. */
const OUT_MAX_BYTES = 64 * 1024 * 1024;

class UsageError extends Error {}

interface AskArgs {
  image: string;
  model: string;
  task: TaskId;
  text: string;
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
    task: task ?? 'chat',
    text: tagged.text,
    device,
    json: values.json,
    out: values.out,
    greedy: values.greedy,
    seed,
    maxTokens,
  };
}

const ms = (value: number): number => Math.round(value * 10) / 10;

function report(args: AskArgs, result: GenerateResult): { text: string; json: object; pixelEntities: ReturnType<typeof entitiesToPixels> } {
  const parsed = parseAnswer(result.raw);
  const pixelEntities = entitiesToPixels(parsed.entities, result.imageSize);
  const t = result.timings;
  const json = {
    task: args.task,
    raw: result.raw,
    text: parsed.text,
    entities: pixelEntities,
    timings: { preprocess: ms(t.preprocessMs), vision: ms(t.visionMs), prefill: ms(t.prefillMs), decode: ms(t.decodeMs), tokens: t.tokens },
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
  const engine = await Engine.load(args.model, { device: args.device, warn: (line) => console.error(line) });
  try {
    const generation = {
      ...(args.greedy ? { doSample: false } : {}),
      ...(args.seed !== undefined ? { seed: args.seed } : {}),
      ...(args.maxTokens !== undefined ? { maxNewTokens: args.maxTokens } : {}),
    };
    const result = await engine.generate({ conversation: 'cli', image, history: [], task: args.task, question: args.text, generation });
    const { text, json, pixelEntities } = report(args, result);
    if (args.out) {
      const drawn = await annotate(image, pixelEntities, { maxBytes: OUT_MAX_BYTES });
      await writeFile(args.out, drawn.bytes);
    }
    console.log(args.json ? JSON.stringify(json) : text);
    return 0;
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    console.error(`minigpt-bot ask: ${err.message}`);
    return EXIT_USAGE;
  } finally {
    await engine.close();
  }
}
