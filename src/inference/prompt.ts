import { InputError } from './errors.ts';
import type { ModelInfo } from './model-config.ts';
import type { PromptTokenizer } from './tokenizer.ts';
import type { TaskId, Turn } from './types.ts';

/** Token ids of the prompt around the image: the model input is embed(seg0) ++ image embeds ++ embed(seg1). */
export interface PromptSegments {
  seg0: number[];
  seg1: number[];
}

type Piece = { kind: 'text'; text: string } | { kind: 'bos' } | { kind: 'eos' } | { kind: 'image' };

const TEMPLATE_MARKS = /(<s>|<\/s>|<ImageHere>|\{question\}|\{answer\})/;
const INST_MARK = /\[\s*(\/?\s*INST)\s*\]/gi;

/**
 * User text (and answers fed back as history) must not be able to close the instruction early: "[/INST]" and
 * "[INST]" lose their brackets ("/INST", "INST"). Everything else, "<s>" and "<ImageHere>" included, stays as
 * typed and is tokenized as plain text, because only template pieces become control ids.
 */
export function neutraliseUserText(text: string): string {
  return text.replace(INST_MARK, '$1');
}

/** A question as the model was trained on it: the task's tag, a space, the text (just the text when untagged). */
export function taskQuestion(model: ModelInfo, task: TaskId, text: string): string {
  const tag = model.prompt.tasks[task] as string | undefined;
  if (tag === undefined) throw new InputError('unknown-task', { task });
  const clean = neutraliseUserText(text);
  return tag ? `${tag} ${clean}` : clean;
}

function render(template: string, question: string, answer: string): Piece[] {
  return template
    .split(TEMPLATE_MARKS)
    .filter((part) => part.length > 0)
    .map((part): Piece => {
      if (part === '<s>') return { kind: 'bos' };
      if (part === '</s>') return { kind: 'eos' };
      if (part === '<ImageHere>') return { kind: 'image' };
      if (part === '{question}') return { kind: 'text', text: question };
      if (part === '{answer}') return { kind: 'text', text: answer };
      return { kind: 'text', text: part };
    });
}

/** Each run of text between control pieces is encoded on its own, with its own dummy prefix. */
function encodePieces(pieces: Piece[], tokenizer: PromptTokenizer, model: ModelInfo): number[] {
  const ids: number[] = [];
  let text = '';
  const flush = (): void => {
    ids.push(...tokenizer.encodeText(text));
    text = '';
  };
  for (const piece of pieces) {
    if (piece.kind === 'text') {
      text += piece.text;
      continue;
    }
    flush();
    if (piece.kind === 'bos') ids.push(model.tokens.bos);
    else if (piece.kind === 'eos') ids.push(model.tokens.eos);
  }
  flush();
  return ids;
}

/**
 * The conversation as prompt segments: the first template with the first question, then the turn template once
 * per later question carrying the previous answer. Only the latest `history_turns` earlier turns are carried when
 * the model sets it (a model trained on short conversations loses track in longer ones). Segment 0 also gets the
 * tokenizer's own BOS.
 */
export function buildPrompt(
  model: ModelInfo,
  tokenizer: PromptTokenizer,
  conversation: readonly Turn[],
  task: TaskId,
  question: string,
): PromptSegments {
  const kept = model.generation.history_turns;
  const history = kept === null ? conversation : conversation.slice(-kept);
  const questions = [...history.map((t) => taskQuestion(model, t.task, t.question)), taskQuestion(model, task, question)];
  const pieces = render(model.prompt.first, questions[0]!, '');
  history.forEach((turn, i) => {
    pieces.push(...render(model.prompt.turn, questions[i + 1]!, neutraliseUserText(turn.answer)));
  });
  const imageAt = pieces.findIndex((p) => p.kind === 'image');
  return {
    seg0: [model.tokens.bos, ...encodePieces(pieces.slice(0, imageAt), tokenizer, model)],
    seg1: encodePieces(pieces.slice(imageAt + 1), tokenizer, model),
  };
}
