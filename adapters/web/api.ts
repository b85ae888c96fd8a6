import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { BotCore, BotReply, ReplyLimits } from '../../src/bot/types.ts';
import { splitTaskTag } from '../../src/grounding/task-tag.ts';
import { sendApiError, sendJson, startEvents } from './http.ts';
import { readImageUrl, type ImageUrlLimits } from './image-url.ts';
import { ChatCompletionBody, generationOf, readConversation, userTextTooLong } from './openai-request.ts';

export interface ApiOptions {
  core: BotCore;
  /** The one model served, as /v1/models lists it. */
  model: string;
  images: ImageUrlLimits;
  reply: ReplyLimits;
}

/** Status and error type per refusal; any other user mistake is a 400 `invalid_request_error`. */
const REFUSALS: Record<string, [number, string]> = {
  'rate-limited': [429, 'rate_limit_exceeded'],
  'queue-full': [429, 'rate_limit_exceeded'],
  'blocked-user': [403, 'permission_error'],
  'blocked-channel': [403, 'permission_error'],
};

/**
 * The model's raw answers (box tokens included) by the text clients got back, newest kept: a client that sends the
 * conversation again gives the engine the exact history it cached, so the prefix is reused instead of recomputed.
 */
class RawAnswers {
  private readonly byText = new Map<string, string>();
  constructor(private readonly max = 2000) {}
  remember(shown: string, raw: string): void {
    this.byText.delete(shown);
    this.byText.set(shown, raw);
    if (this.byText.size > this.max) this.byText.delete(this.byText.keys().next().value!);
  }
  raw(shown: string): string {
    return this.byText.get(shown) ?? shown;
  }
}

export function modelList(model: string): unknown {
  return { object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'minigpt-bot' }] };
}

/** Answers chat completions through the bot's own `chat` command: its guards, conversations and drawing. */
export function chatCompletions(options: ApiOptions) {
  const answers = new RawAnswers();
  return async (payload: unknown, caller: string, res: ServerResponse): Promise<void> => {
    const parsed = ChatCompletionBody.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.join('.') || 'body';
      return sendApiError(res, 400, `${where}: ${issue.message}`, 'invalid_request_error');
    }
    const body = parsed.data;
    if (body.model !== options.model) {
      return sendApiError(
        res,
        404,
        `The model '${body.model}' does not exist; this server has '${options.model}'`,
        'invalid_request_error',
        'model_not_found',
      );
    }
    const tooLong = userTextTooLong(body);
    if (tooLong) {
      const { message, param } = tooLong;
      return sendApiError(res, 400, message, 'invalid_request_error', 'string_above_max_length', param);
    }
    const conversation = readConversation(body);
    if ('error' in conversation) return sendApiError(res, 400, conversation.error, 'invalid_request_error');
    if (!conversation.imageUrl)
      return sendApiError(
        res,
        400,
        'send an image: an image_url content part in a user message',
        'invalid_request_error',
        'image_required',
      );
    const image = await readImageUrl(conversation.imageUrl, options.images);
    if (!image.ok) return sendApiError(res, 400, image.message, 'invalid_request_error', 'invalid_image');

    const channel = createHash('sha256')
      .update(image.image.bytes)
      .update(conversation.opening)
      .digest('hex')
      .slice(0, 24);
    const history = conversation.history.map((turn) => {
      const { task = 'chat', text } = splitTaskTag(turn.text);
      return { task, question: text, answer: answers.raw(turn.answer) };
    });
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: options.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    let send: ((data: unknown) => void) | undefined;
    let streamed = '';
    const onText = (text: string): void => {
      if (!body.stream || !text.startsWith(streamed)) return;
      if (!send) {
        send = startEvents(res);
        send(chunk({ role: 'assistant', content: '' }));
      }
      if (text.length > streamed.length) send(chunk({ content: text.slice(streamed.length) }));
      streamed = text;
    };
    const reply = await options.core.handle(
      {
        key: { platform: 'api', workspace: caller, channel },
        user: { id: caller },
        command: 'chat',
        args: { text: conversation.question },
        image: image.image,
        history,
        generation: generationOf(body),
      },
      { onText },
      options.reply,
    );
    if (reply.kind !== 'answer') {
      // chat either answers or refuses: an `info` reply is the bot stopping for a restart
      const [status, type] =
        reply.kind === 'error'
          ? [500, 'server_error']
          : reply.kind === 'info'
            ? [503, 'server_error']
            : (REFUSALS[reply.error ?? ''] ?? [400, 'invalid_request_error']);
      if (!send) return sendApiError(res, status, reply.text, type, reply.error ?? null);
      send({ error: { message: reply.text, type, param: null, code: reply.error ?? null } });
      return void res.end();
    }
    answers.remember(reply.text, reply.raw ?? reply.text);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    const finish = maxTokens != null && (reply.timings?.tokens ?? 0) >= maxTokens ? 'length' : 'stop';
    const extra = { minigpt: details(reply) };
    if (!body.stream) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: options.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: reply.text, entities: reply.entities ?? [] },
            finish_reason: finish,
          },
        ],
        ...extra,
      });
    }
    send ??= startEvents(res);
    const rest = reply.text.startsWith(streamed) ? reply.text.slice(streamed.length) : `\n${reply.text}`;
    send({ ...chunk({ content: rest, entities: reply.entities ?? [] }, finish), ...extra });
    send('[DONE]');
    res.end();
  };
}

/** What `ask --json` adds beside the text: the task, the raw answer, and what the engine computed. */
function details(reply: BotReply): Record<string, unknown> {
  return {
    task: reply.task,
    raw: reply.raw,
    imageSize: reply.imageSize,
    visionCached: reply.visionCached,
    timings: reply.timings,
  };
}
