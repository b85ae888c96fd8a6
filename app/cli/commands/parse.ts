import { type Parsed, runCommandLine, UsageError } from '../command-line.ts';
import { parseAnswer } from '../../../src/grounding/parse.ts';
import { numberBoxes } from '../../../src/grounding/numbering.ts';
import { entitiesToPixels } from '../../../src/grounding/scale.ts';
import type { ImageSize } from '../../../src/grounding/types.ts';

export const summary = 'parse "RAW ANSWER" [--json] [--size WxH]: the text and boxes of a model answer';

const LINE = {
  name: 'parse',
  usage: 'minigpt-bot parse "RAW ANSWER" [--json] [--size WxH]   (RAW ANSWER "-" reads stdin)',
  options: { json: { type: 'boolean' }, size: { type: 'string' } },
  positionals: { name: 'RAW ANSWER', min: 1, max: 1 },
  help: `Reads the box language: {<x1><y1><x2><y2>} on the 100-grid, <p>phrase</p> {box}, boxes joined by <delim>.
A box alone (a [refer] answer) has phrase ''. Values past 100 are clamped to 100, corners written in the wrong
order are swapped (x1 <= x2, y1 <= y2), and an unfinished group at the end is dropped. Boxes are numbered #1, #2
... over phrases in order, then each phrase's boxes, as they are drawn. --size WxH adds pixel boxes
(x / 100 * W, rounded) for an image of that size.`,
} as const;
const SIZE = /^(\d+)x(\d+)$/i;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Prints what the model's answer says: the text for people and every box on the 100-grid, numbered as they
 * are drawn (`--size WxH` adds pixel boxes for an image of that size). `--json`: `{text, entities}`.
 */
export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, show);
}

async function show({ values, positionals }: Parsed<typeof LINE.options>): Promise<number> {
  const sizeMatch = values.size === undefined ? null : SIZE.exec(values.size);
  if (values.size !== undefined && (!sizeMatch || Number(sizeMatch[1]) === 0 || Number(sizeMatch[2]) === 0)) {
    throw new UsageError(`--size must look like 640x480, got "${values.size}"`);
  }
  const size: ImageSize | undefined = sizeMatch ? { width: Number(sizeMatch[1]), height: Number(sizeMatch[2]) } : undefined;
  const raw = positionals[0] === '-' ? await readStdin() : positionals[0]!;
  const answer = parseAnswer(raw);
  const pixels = size ? entitiesToPixels(answer.entities, size) : undefined;
  if (values.json) {
    console.log(JSON.stringify(pixels ? { ...answer, size, pixelEntities: pixels } : answer));
    return 0;
  }
  console.log(`text: ${answer.text}`);
  const pixelBoxes = pixels ? numberBoxes(pixels) : [];
  for (const b of numberBoxes(answer.entities)) {
    const inPixels = pixelBoxes[b.number - 1] ? `  pixels [${pixelBoxes[b.number - 1]!.box.join(', ')}]` : '';
    console.log(`#${b.number} ${b.phrase || '(no phrase)'}  grid [${b.box.join(', ')}]${inPixels}`);
  }
  if (answer.entities.length === 0) console.log('no boxes');
  return 0;
}
