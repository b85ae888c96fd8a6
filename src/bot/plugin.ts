import type { z } from 'zod';
import type { Entity, ImageSize } from '../grounding/types.ts';
import type { PickedBox } from '../grounding/box-ref.ts';
import type { TaskId } from '../inference/types.ts';
import type { ResetOutcome } from './conversations.ts';
import type { CommandSpec, PluginOption } from './types.ts';
import type { MessageContext, MessageId } from './messages.ts';

/** What a typed option's value is once the framework has parsed it: boxes arrive in pixels of the image. */
type ValueOf<T extends PluginOption['type']> = T extends 'number' ? number : T extends 'box' ? PickedBox : string;

/** The parsed arguments of a plugin, typed from its option list (images travel separately). */
export type OptionValues<O extends readonly PluginOption[]> = {
  [P in Exclude<O[number], { type: 'image' }> as P['name']]: P['required'] extends true
    ? ValueOf<P['type']>
    : ValueOf<P['type']> | undefined;
};

/** The model's answer as the framework hands it to `present`: people's text and entities in pixels. */
export interface Answer {
  task: TaskId;
  question: string;
  raw: string;
  text: string;
  entities: Entity[];
  imageSize: ImageSize;
}

/** What a plugin's `run` decides: ask the model, say something, or refuse with an identifier. */
export type PluginOutcome =
  | { ask: { task: TaskId; question: string } }
  | { info: string }
  | { refuse: MessageId; context?: MessageContext };

export interface PluginContext<V, C> {
  args: V;
  config: C;
  /** Whether the conversation has an image (the framework refuses image plugins before `run` when it has not). */
  hasImage: boolean;
  imageSize?: ImageSize;
  /** Every command, for help. */
  commands: readonly CommandSpec[];
  /** Drops the conversation (image, turns, entities) and the engine's caches for it, if the asker may. */
  resetConversation(): ResetOutcome;
  /** Resolves a box reference (`x1,y1,x2,y2`, percentages or `#2`) against the conversation, for free text. */
  resolveBox(input: string): { ok: true; box: PickedBox } | { ok: false; error: MessageId; context?: MessageContext };
}

/**
 * One command, declared once and served by every adapter. The framework enforces the extras (needs an image,
 * admin only, option parsing), so `run` is only about the task.
 */
export interface Plugin<O extends readonly PluginOption[] = readonly PluginOption[], C = unknown> {
  name: string;
  description: string;
  options: O;
  /** Whether the command works on an image: the framework then supplies the conversation's or refuses. */
  usesImage: boolean;
  /** Only users on the admin list may run it. */
  adminOnly?: boolean;
  /** Schema of the plugin's section in the config file (`plugins.<name>`), with defaults for every key. */
  config?: z.ZodType<C>;
  run(ctx: PluginContext<OptionValues<O>, C>): PluginOutcome | Promise<PluginOutcome>;
  /** How the answer is shown: e.g. refer labels its bare box with the phrase asked for. Default: as parsed. */
  present?(answer: Answer, ctx: PluginContext<OptionValues<O>, C>): Pick<Answer, 'text' | 'entities'>;
}

/** Keeps a plugin's option names and types as literals so `run` sees typed arguments. */
export function definePlugin<const O extends readonly PluginOption[], C = undefined>(plugin: Plugin<O, C>): Plugin<O, C> {
  return plugin;
}

/** A plugin with its types erased, as the registry holds it. */
// biome-ignore lint/suspicious/noExplicitAny: a list of plugins each with its own config type (a Plugin<…, unknown> would reject them)
export type AnyPlugin = Plugin<readonly PluginOption[], any>;
export type AnyContext = PluginContext<OptionValues<readonly PluginOption[]>, unknown>;
