import type { AnyPlugin } from '../src/bot/plugin.ts';
import caption from './caption.ts';
import chat from './chat.ts';
import detect from './detect.ts';
import ground from './ground.ts';
import help from './help.ts';
import identify from './identify.ts';
import refer from './refer.ts';
import reset from './reset.ts';
import vqa from './vqa.ts';

/** Every command the bot serves, in the order help lists them. A new task is a new file plus one line here. */
export const PLUGINS: readonly AnyPlugin[] = [vqa, caption, ground, refer, identify, detect, chat, reset, help];
