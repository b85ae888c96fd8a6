import { z } from 'zod';
import type { GenerationConfig } from '../../src/inference/types.ts';
import { textTooLong } from '../kit/text-limit.ts';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ImagePart = z.object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1) }) });
const Content = z.union([z.string(), z.array(z.union([TextPart, ImagePart])), z.null()]);

/** The part of OpenAI's chat completions request this server reads; other fields are accepted and ignored. */
export const ChatCompletionBody = z.object({
  model: z.string().min(1),
  messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: Content })).min(1),
  stream: z.boolean().nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).lte(1).nullish(),
  seed: z.number().int().nullish(),
  /** One choice per request: the model gives one answer, and a caller asking for several is told so. */
  n: z.literal(1, { error: 'this server gives one choice per request; leave n out or set it to 1' }).nullish(),
});
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

export interface Conversation {
  /** The newest image_url in the messages. */
  imageUrl?: string;
  /** The user text of the first message on that image: with the image, it names the conversation. */
  opening: string;
  /** User and assistant turns on the image before the last user message. */
  history: { text: string; answer: string }[];
  /** The last user message's text, a leading `[tag]` picking the task as in chat. */
  question: string;
}

type Message = ChatCompletionBody['messages'][number];
const textOf = (m: Message): string =>
  typeof m.content === 'string'
    ? m.content
    : (m.content ?? [])
        .map((p) => (p.type === 'text' ? p.text : ''))
        .join('\n')
        .trim();
function imageOf(m: Message): string | undefined {
  const parts = Array.isArray(m.content) ? m.content : [];
  const images = parts.flatMap((p) => (p.type === 'image_url' ? [p.image_url.url] : []));
  return images.at(-1);
}

/**
 * The first user message whose text is over the typed-text limit the chats have: its place in `messages` and the
 * refusal, in the chats' words.
 */
export function userTextTooLong(body: ChatCompletionBody): { param: string; message: string } | undefined {
  for (const [i, m] of body.messages.entries()) {
    const refusal = m.role === 'user' ? textTooLong(textOf(m)) : undefined;
    if (refusal !== undefined) return { param: `messages.${i}.content`, message: refusal };
  }
  return undefined;
}

/** The messages as one conversation on one image; an explanation when they cannot be one. */
export function readConversation(body: ChatCompletionBody): Conversation | { error: string } {
  const chat = body.messages.filter((m) => m.role === 'user' || m.role === 'assistant');
  const last = chat.at(-1);
  if (last?.role !== 'user') return { error: 'the last message must be from the user' };
  const imageAt = chat.map((m) => m.role === 'user' && imageOf(m) !== undefined).lastIndexOf(true);
  const onImage = chat.slice(Math.max(0, imageAt), -1);
  const history: Conversation['history'] = [];
  for (let i = 0; i < onImage.length; i++) {
    const m = onImage[i]!;
    const next = onImage[i + 1];
    if (m.role !== 'user') continue;
    if (next?.role === 'assistant') history.push({ text: textOf(m), answer: textOf(next) });
  }
  const question = textOf(last);
  if (question === '') return { error: 'the last user message has no text' };
  return {
    imageUrl: imageAt >= 0 ? imageOf(chat[imageAt]!) : undefined,
    opening: textOf(chat[Math.max(0, imageAt)]!),
    history,
    question,
  };
}

/** OpenAI's sampling fields as the engine's settings: temperature 0 (or none with top_p unset) is greedy. */
export function generationOf(body: ChatCompletionBody): Partial<GenerationConfig> {
  const settings: Partial<GenerationConfig> = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) settings.maxNewTokens = maxTokens;
  if (body.temperature != null) {
    settings.doSample = body.temperature > 0;
    if (body.temperature > 0) settings.temperature = body.temperature;
  }
  if (body.top_p != null) {
    settings.topP = body.top_p;
    if (body.temperature == null && body.top_p < 1) settings.doSample = true;
  }
  if (body.seed != null) settings.seed = body.seed;
  return settings;
}
