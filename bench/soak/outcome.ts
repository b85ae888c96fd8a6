import { MESSAGES as SLACK } from '../../adapters/slack/messages.ts';
import { MESSAGES as BOT } from '../../src/bot/messages.ts';

/** What became of one request, read off the platform the way its user would see it. */
export type Outcome = 'answered' | 'told' | 'lost';

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A message template with `{name}` slots (or a function's output around a marker) as a pattern. */
function pattern(template: string): RegExp {
  return new RegExp(escapeRegExp(template).replace(/\\\{\w+\\\}/g, '[\\s\\S]*').replace(/MARKER/g, '[\\s\\S]*'));
}

/** Framework messages that are not a refusal: progress, notes beside an answer, and one that is any text at all. */
const NOT_FAILURES = new Set([
  'queued',
  'bad-box',
  'answer-cut',
  'model-domain',
  'image-shrunk',
  'reset-done',
  'reset-empty',
]);

/** Texts that tell a user the request failed or was refused: the framework's and the adapters' messages. */
const FAILURES: RegExp[] = [
  ...Object.entries(BOT)
    .filter(([id]) => !NOT_FAILURES.has(id))
    .map(([, text]) => pattern(text)),
  ...[SLACK.notAnImage, SLACK.noImageForMention, SLACK.generic, SLACK.uploadFailed].map(pattern),
  ...Object.values(SLACK.download).map((m) => pattern(typeof m === 'function' ? m(1) : m)),
  pattern(SLACK.notDelivered('MARKER')),
  /I could not post my answer here/,
  /I could not download .* from Discord/,
];

/** Texts that are only ever shown while a request is still on its way: left alone, the user was forgotten. */
const IN_PROGRESS: RegExp[] = [
  pattern(BOT.queued),
  pattern(SLACK.working),
  pattern(SLACK.queued(0).replace('0', 'MARKER')),
];

/** Reads the final state of one request from the bot's messages about it (placeholders, answers, apologies). */
export function classify(replies: readonly string[], streamingMark?: string): { outcome: Outcome; duplicates: number } {
  const shown = replies.filter((text) => text !== SLACK.uploadFailed);
  if (shown.length === 0) return { outcome: 'lost', duplicates: 0 };
  const streaming = (text: string): boolean => streamingMark !== undefined && text.endsWith(streamingMark);
  const stuck = shown.some((text) => text.trim() === '' || IN_PROGRESS.some((p) => p.test(text)) || streaming(text));
  if (stuck) return { outcome: 'lost', duplicates: 0 };
  const told = shown.some((text) => FAILURES.some((p) => p.test(text)));
  return { outcome: told ? 'told' : 'answered', duplicates: shown.length - 1 };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
