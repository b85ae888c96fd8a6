import type { TaskId } from '../inference/types.ts';

/** Every identifier of the paper, plus names people type instead (case does not matter). */
const TAGS: Readonly<Record<string, TaskId>> = {
  vqa: 'vqa',
  caption: 'caption',
  captioning: 'caption',
  grounding: 'grounding',
  ground: 'grounding',
  grounded: 'grounding',
  refer: 'refer',
  rec: 'refer',
  identify: 'identify',
  reg: 'identify',
  detection: 'detection',
  detect: 'detection',
  chat: 'chat',
};

const LEADING_TAG = /^\s*\[\s*([a-z]+)\s*\]\s*/i;

/**
 * Splits a leading task identifier off the user's text: `[refer] the red circle` → refer + `the red circle`.
 * Text without a known tag is returned unchanged with no task (an unknown `[word]` stays part of the text).
 */
export function splitTaskTag(text: string): { task?: TaskId; text: string } {
  const m = LEADING_TAG.exec(text);
  const task = m ? TAGS[m[1]!.toLowerCase()] : undefined;
  if (!m || !task) return { text: text.trim() };
  return { task, text: text.slice(m[0].length).trim() };
}
