import type { Answer } from '../src/bot/plugin.ts';
import type { Box } from '../src/grounding/types.ts';

/** A refer answer is a bare box: each unnamed one is labelled with the phrase asked for. */
export function labelledWith(answer: Answer, phrase: string): Pick<Answer, 'text' | 'entities'> {
  return { text: answer.text, entities: answer.entities.map((e) => ({ ...e, phrase: e.phrase || phrase })) };
}

/** An identify answer is a phrase: the box the user pointed at is drawn with it as the label. */
export function boxNamed(answer: Answer, pixels: Box): Pick<Answer, 'text' | 'entities'> {
  return { text: answer.text, entities: [{ phrase: answer.text, boxes: [pixels] }] };
}
