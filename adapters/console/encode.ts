import { shownText } from '../../src/bot/reply-text.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { BotReply } from '../../src/bot/types.ts';

/**
 * Streaming prints only what was appended: the people's text can shrink for a moment (a box token being
 * removed), and a terminal cannot take a character back, so such an update waits for the next one.
 */
export class StreamPrinter {
  private printed = '';
  constructor(private readonly write: (text: string) => void) {}

  update(textSoFar: string): void {
    if (!textSoFar.startsWith(this.printed)) return;
    this.write(textSoFar.slice(this.printed.length));
    this.printed = textSoFar;
  }

  /** The final reply: the rest of it when the stream already showed its start, the whole of it otherwise. */
  finish(text: string): void {
    const continues = this.printed !== '' && text.startsWith(this.printed);
    const rest = continues ? text.slice(this.printed.length) : (this.printed ? '\n' : '') + text;
    this.write(`${rest}\n`);
    this.printed = '';
  }
}

const PREFIX: Record<BotReply['kind'], string> = { answer: '', info: '', 'user-error': '! ', error: '! ' };

export const replyText = (reply: BotReply): string => `${PREFIX[reply.kind]}${shownText(reply)}`;

/**
 * Saves an annotated answer as `<outDir>/<n>-<command>.png`, taking the next free number so earlier sessions'
 * files are kept, and returns the path to print (relative to the working folder when inside it).
 */
export async function saveImage(reply: BotReply, outDir: string, index: number, command: string): Promise<string | undefined> {
  if (!reply.image) return undefined;
  await mkdir(outDir, { recursive: true });
  const extension = reply.image.mime === 'image/jpeg' ? 'jpg' : 'png';
  for (let n = index; ; n++) {
    const path = join(outDir, `${String(n).padStart(3, '0')}-${command}.${extension}`);
    const written = await writeFile(path, reply.image.bytes, { flag: 'wx' }).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EEXIST') return false;
        throw error;
      },
    );
    if (!written) continue;
    const shorter = relative(process.cwd(), path);
    return shorter.length < path.length && !shorter.startsWith('..') ? shorter : path;
  }
}
