import type { DownloadFailure } from './download.ts';
import { escapeText } from './escape.ts';
import { IMAGE_FORMATS } from '../../src/bot/messages.ts';

/** Everything the adapter itself says in Slack, in one place so handlers read as flow. */
export const MESSAGES = {
  working: ':hourglass_flowing_sand: Looking at the image…',
  queued: (position: number) => `:hourglass: Waiting for my turn: position ${position} in the queue.`,
  streamingMark: ' …',
  notAnImage: `That file is not an image I can read: attach ${IMAGE_FORMATS}.`,
  noImageForMention:
    'I need an image first: mention me in a message with an image attached, or in the thread of one.',
  noImageForCommand: (command: string) =>
    `There is no image in this channel yet. Post one with a mention (for example \`@me /${command} …\` with the ` +
    `picture attached), then try \`/${command}\` again or reply in that image's thread.`,
  answeringInThread: 'Answering in the thread of the latest image.',
  /** The typed text is echoed escaped (no mentions, links or broadcasts), its backticks unable to end the code span. */
  askedBy: (user: string, command: string, text: string) =>
    `<@${user}> asked \`/${command}${text ? ` ${escapeText(text).replace(/`/g, 'ˋ')}` : ''}\``,
  askedAboutImage: (user: string, text: string) => `<@${user}> asked about this image: ${escapeText(text)}`,
  noImageInMessage: 'That message has no image I can read. Use "Ask about this image" on a message with a picture.',
  uploadFailed: '(I could not upload the annotated image.)',
  notDelivered: (reason: string) => `:warning: I could not post my answer here (${reason}). Please ask again.`,
  generic: 'Something went wrong while answering. Please try again.',
  download: {
    'untrusted-url': 'I only download files from Slack itself.',
    'too-large': (maxBytes: number) => `That image is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB. Send a smaller one.`,
    'login-page':
      'Slack sent me its login page instead of the image: the app is missing the `files:read` scope. ' +
      'Ask an admin to add it and reinstall the app.',
    timeout: 'Downloading the image from Slack took too long. Please try again.',
    failed: 'I could not download that image from Slack. Please try again.',
  } satisfies Record<DownloadFailure, string | ((maxBytes: number) => string)>,
} as const;

export function downloadMessage(reason: DownloadFailure, maxBytes: number): string {
  const message = MESSAGES.download[reason];
  return typeof message === 'function' ? message(maxBytes) : message;
}
