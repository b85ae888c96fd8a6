const BOX_HOW_TO =
  'Give a box as x1,y1,x2,y2 in pixels, as percentages like 10%,20%,30%,40%, or as #2 from the last answer.';

/** The image formats accepted, as users read them (src/bot/image.ts holds the list itself). */
export const IMAGE_FORMATS = 'PNG, JPEG, WebP, GIF (first frame), BMP or TIFF';

/**
 * Every sentence the framework says to a user, keyed by identifier, so flow code never holds prose and a
 * translation or rewording is one table edit. `{name}` placeholders are filled from the error's context.
 */
export const MESSAGES = {
  'unknown-command': 'There is no /{command} command. Try /help.',
  'needs-image': 'This needs an image: attach one (in the terminal: /image PATH) and ask again.',
  'not-an-image': `I could not read {name} as an image (${IMAGE_FORMATS}).`,
  'image-format': `{name} is {format}, which this bot does not read; send ${IMAGE_FORMATS}.`,
  'image-empty': '{name} is empty (0 bytes).',
  'image-unreadable': 'The image could not be decoded (corrupt or truncated data).',
  'image-too-large': 'That image is {size} MB; the limit is {limit} MB.',
  'image-too-many-pixels': 'That image is {width}×{height} pixels; the limit is {limit} megapixels.',
  'missing-option': '/{command} needs {option}: {description}',
  'bad-number': '{option} must be a number, not "{value}".',
  'box-missing': `No box given. ${BOX_HOW_TO}`,
  'box-format': `I could not read "{text}" as a box. ${BOX_HOW_TO}`,
  'box-mixed-units': 'Use pixels for all four numbers or percentages for all four, not a mix.',
  'box-outside': 'The box {text} goes past the image, which is {width}×{height} pixels.',
  'box-empty': 'That box has no area: x1 must differ from x2 and y1 from y2.',
  'no-boxes-yet': `There are no numbered boxes yet. ${BOX_HOW_TO}`,
  'box-number-unknown': 'There is no box #{number}: the last answer has {range}.',
  'blocked-user': 'You are not allowed to use this bot.',
  'admin-only': '/{command} is for admins only.',
  'blocked-channel': 'This bot does not answer in this channel.',
  'rate-limited': 'You have reached the limit of {limit} per {window} s; try again in {retry} s.',
  'queue-full': 'Too many requests are waiting ({waiting}); try again in a minute.',
  queued: 'Waiting in the queue: you are #{position}.',
  'reset-done': 'Conversation cleared: send a new image to start again.',
  'reset-empty': 'There was nothing to clear.',
  'reset-not-yours': 'Only the person who started this conversation (or an admin) can clear it.',
  /** Even with every earlier turn dropped, the question and the image do not leave room for an answer. */
  'conversation-too-long': 'That message is too long for this model ({used} of {limit} positions with the image): shorten it.',
  'unknown-task': 'The model has no task called {task}.',
  'no-box-found': 'The answer holds no box, so there is nothing to draw.',
  /** The model was still writing when it reached the token or context limit. */
  'answer-cut': '(The answer was cut off: it reached the length limit.)',
  /** Told once per conversation when the model directory declares a narrow world. */
  'model-domain':
    'Note: this model knows only {domain}; other images get confident nonsense. For photographs, run the official '
    + 'MiniGPT-v2 (see "Run the real model" in the README).',
  /** The annotated image had to shrink to fit the platform's upload limit; the pixel boxes in the text still refer to the original. */
  'image-shrunk': '(The annotated image was reduced to fit the upload limit: {note}.)',
  unexpected: 'Something went wrong while answering; it has been logged. Please try again.',
  /** The bot is stopping (an update, a restart) and could not finish, or take, this request. */
  restarting: 'The bot is restarting and could not finish this answer; please ask again in a minute.',
  /** The bot stopped hard while this request waited and it was too old to answer when it came back. */
  lost: 'The bot was restarted while answering this and the request is too old to answer now; please ask again.',
} as const;

export type MessageId = keyof typeof MESSAGES;
export type MessageContext = Record<string, string | number>;

/** Fills a message's placeholders; an unknown placeholder stays visible rather than vanishing silently. */
export function message(id: MessageId, context: MessageContext = {}): string {
  return MESSAGES[id].replace(/\{(\w+)\}/g, (whole, name: string) => (name in context ? String(context[name]) : whole));
}
