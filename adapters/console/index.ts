import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { checkImage, type ImageLimits } from '../../src/bot/image.ts';
import type { BotCore, InputImage, ReplyLimits } from '../../src/bot/types.ts';
import { message } from '../../src/bot/messages.ts';
import type { Logger } from '../../src/log.ts';
import { decodeLine } from './decode.ts';
import { replyText, saveImage, StreamPrinter } from './encode.ts';

/** The image a console session starts with: a scene of the default model's world that ships with the project. */
export const SAMPLE_IMAGE = fileURLToPath(new URL('../../assets/sample.png', import.meta.url));

/** What /help adds in the terminal: the console's own commands. */
const CONSOLE_HELP = [
  `${'/image PATH'.padEnd(34)} Use another image (starts a new conversation)`,
  `${'/quit'.padEnd(34)} Leave`,
].join('\n');

/** A terminal has no upload limit; this only keeps saved files a sensible size. */
const LIMITS: ReplyLimits = { imageBytes: 16 * 1024 * 1024 };

export interface ConsoleConfig {
  outDir: string;
  image?: string;
  /** The bot's image limits, so `/image` says at once what a question would be refused for. */
  limits: ImageLimits;
}

export interface ConsoleIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface ConsoleAdapter {
  /** Resolves when the input ends (EOF, /quit) and the last answer has been printed. */
  finished: Promise<void>;
  stop(): Promise<void>;
}

/** The image at `path`, checked as any upload is (formats, limits), or the one line that says why not. */
async function loadImage(
  path: string,
  limits: ImageLimits,
): Promise<{ ok: true; image: InputImage; note: string } | { ok: false; note: string }> {
  const bytes = await readFile(path).catch(() => undefined);
  if (!bytes) return { ok: false, note: `! cannot read ${path}` };
  const checked = await checkImage({ bytes, name: path }, limits);
  if (!checked.ok) return { ok: false, note: `! ${message(checked.error.identifier, checked.error.context)}` };
  const { width, height } = checked.value.size;
  return { ok: true, image: { bytes: checked.value.bytes, name: path }, note: `image: ${path} (${width}×${height})` };
}

/**
 * A chat in the terminal, one line at a time: `/name args` runs a command, free text chats, `/image PATH` changes
 * the image. Works the same on piped input, where it answers every line in order and ends at EOF.
 */
export async function start(core: BotCore, config: ConsoleConfig, log: Logger, io?: ConsoleIo): Promise<ConsoleAdapter> {
  const { input, output } = io ?? { input: process.stdin, output: process.stdout };
  const interactive = Boolean(input.isTTY && output.isTTY);
  const say = (text: string): void => void output.write(text);
  // Each terminal session is its own conversation: state kept across restarts is for chat threads, not this.
  const key = { platform: 'console', workspace: 'local', channel: `terminal-${process.pid}-${Date.now()}` };
  const user = { id: 'console', name: 'you' };
  const commands = core.commands();
  const imageCommands = new Set(commands.filter((c) => c.usesImage).map((c) => c.name));

  const first = await loadImage(config.image ?? SAMPLE_IMAGE, config.limits);
  /** The image to attach to the next question that uses one. */
  let pending = first.ok ? first.image : undefined;
  if (interactive) say('minigpt-bot: /help lists the commands, /image PATH changes the image, /quit leaves.\n');
  say(`${first.note}\n`);

  const lines = createInterface({ input, output: interactive ? output : undefined, terminal: interactive });
  // A terminal in raw mode turns Ctrl-C into a readline event rather than a signal: treat it as leaving.
  lines.on('SIGINT', () => lines.close());
  const prompt = (): void => {
    if (interactive) lines.prompt();
  };
  let answered = 0;

  async function runLine(line: string): Promise<boolean> {
    const decoded = decodeLine(line, commands);
    if (decoded.kind === 'quit') return false;
    if (decoded.kind === 'empty') return true;
    if (decoded.kind === 'image') {
      if (decoded.path === '') {
        say('usage: /image PATH\n');
        return true;
      }
      const loaded = await loadImage(decoded.path, config.limits);
      if (loaded.ok) pending = loaded.image;
      say(`${loaded.note}\n`);
      return true;
    }
    const printer = new StreamPrinter(say);
    const attached = imageCommands.has(decoded.command) ? pending : undefined;
    const reply = await core.handle(
      { key, user, command: decoded.command, args: decoded.args, image: attached },
      { onText: (text) => printer.update(text), onQueued: (position) => say(`${message('queued', { position })}\n`) },
      LIMITS,
    );
    printer.finish(replyText(reply));
    if (decoded.command === 'help') say(`${CONSOLE_HELP}\n`);
    // Sent once, like an upload in a chat: the conversation keeps it until /reset or the next /image.
    if (attached && reply.kind === 'answer') pending = undefined;
    const saved = await saveImage(reply, config.outDir, ++answered, decoded.command).catch((error: unknown) => {
      log.error({ err: error, outDir: config.outDir }, 'console: cannot save the annotated image');
      return undefined;
    });
    if (saved) say(`saved: ${saved}\n`);
    return true;
  }

  const finished = (async () => {
    prompt();
    for await (const line of lines) {
      if (!(await runLine(line))) break;
      prompt();
    }
    lines.close();
  })();
  return {
    finished,
    async stop() {
      lines.close();
      await finished;
    },
  };
}
