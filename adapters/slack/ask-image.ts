import type { webApi } from '@slack/bolt';
import { TEXT_MAX_CHARS } from '../kit/text-limit.ts';
import type { SlackFile } from './types.ts';

/** The message shortcut (a message's ⋯ menu): it receives the message with its files, wherever it was posted. */
export const ASK_ABOUT_IMAGE = { title: 'Ask about this image', callbackId: 'ask_about_image' } as const;

const QUESTION_BLOCK = 'question';
const QUESTION_ACTION = 'text';

/** What the modal carries to its submission: where to answer, and the image pointed at. */
export interface AskTarget {
  channel: string;
  /** The thread to answer in: the message's thread, or the message itself. */
  threadTs: string;
  file: SlackFile;
}

/** The modal asking for the question; `target` rides along in its private metadata. */
export function askModal(target: AskTarget): webApi.ViewsOpenArguments['view'] {
  return {
    type: 'modal',
    callback_id: ASK_ABOUT_IMAGE.callbackId,
    private_metadata: JSON.stringify(target),
    title: { type: 'plain_text', text: ASK_ABOUT_IMAGE.title },
    submit: { type: 'plain_text', text: 'Ask' },
    blocks: [
      {
        type: 'input',
        block_id: QUESTION_BLOCK,
        label: { type: 'plain_text', text: 'Your question' },
        element: {
          type: 'plain_text_input',
          action_id: QUESTION_ACTION,
          multiline: true,
          max_length: TEXT_MAX_CHARS,
          placeholder: { type: 'plain_text', text: 'What is in the picture? Or a command: /refer the red car' },
        },
      },
    ],
  };
}

/** The submitted question and the image it is about. */
export function readSubmission(view: {
  private_metadata?: string;
  state?: { values?: Record<string, Record<string, { value?: string | null }>> };
}): { target: AskTarget; question: string } {
  const target = JSON.parse(view.private_metadata ?? '{}') as AskTarget;
  const question = view.state?.values?.[QUESTION_BLOCK]?.[QUESTION_ACTION]?.value ?? '';
  return { target, question: question.trim() };
}
