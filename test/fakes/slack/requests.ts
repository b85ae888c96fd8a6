import { createHmac } from 'node:crypto';
import type { SlackFile } from '../../../adapters/slack/types.ts';

/** Slack's request signature: v0=HMAC-SHA256(secret, "v0:" + timestamp + ":" + raw body). */
export function signature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SendOptions {
  /** Seconds since the epoch; now by default (older than 5 minutes is stale). */
  timestamp?: number;
  /** Overrides the computed signature (to send a bad one). */
  signature?: string | null;
  retryNum?: number;
}

/** Posts a body to the bot's receiver the way Slack does, signed with `secret`. */
export async function sendSigned(
  url: string,
  secret: string,
  body: string,
  contentType: 'application/json' | 'application/x-www-form-urlencoded',
  options: SendOptions = {},
): Promise<Response> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-slack-request-timestamp': String(timestamp),
  };
  const sig = options.signature === undefined ? signature(secret, timestamp, body) : options.signature;
  if (sig !== null) headers['x-slack-signature'] = sig;
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  return fetch(url, { method: 'POST', headers, body });
}

export interface MessageSpec {
  team: string;
  channel: string;
  user: string;
  text: string;
  ts: string;
  threadTs?: string;
  files?: SlackFile[];
  eventId?: string;
  /** Set when an app or bot user posted it: Slack then adds `bot_id` (and the bot's profile) to the event. */
  botId?: string;
}

let eventCounter = 0;

/** An Events API envelope around an `app_mention` (or a DM `message`, with `type: 'message'`). */
export function messageEnvelope(spec: MessageSpec, type: 'app_mention' | 'message' = 'app_mention'): string {
  const event = {
    type,
    user: spec.user,
    text: spec.text,
    ts: spec.ts,
    channel: spec.channel,
    event_ts: spec.ts,
    team: spec.team,
    ...(type === 'message' ? { channel_type: 'im' } : {}),
    ...(spec.threadTs ? { thread_ts: spec.threadTs } : {}),
    ...(spec.botId ? { bot_id: spec.botId, bot_profile: { id: spec.botId, name: 'another bot', deleted: false } } : {}),
    ...(spec.files ? { files: spec.files, ...(type === 'message' ? { subtype: 'file_share' } : {}) } : {}),
  };
  return JSON.stringify({
    token: 'unused-verification-token',
    team_id: spec.team,
    api_app_id: 'A0APP',
    event,
    type: 'event_callback',
    event_id: spec.eventId ?? `Ev${String(++eventCounter).padStart(8, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}

export interface CommandPayload {
  command: string;
  text: string;
  team: string;
  channel: string;
  user: string;
  responseUrl: string;
}

/** A slash command as Slack posts it: form-encoded fields. */
export function slashCommandBody(spec: CommandPayload): string {
  return new URLSearchParams({
    token: 'unused-verification-token',
    team_id: spec.team,
    team_domain: 'fake',
    channel_id: spec.channel,
    channel_name: 'general',
    user_id: spec.user,
    user_name: 'someone',
    command: spec.command,
    text: spec.text,
    api_app_id: 'A0APP',
    response_url: spec.responseUrl,
    trigger_id: '123.456.abc',
  }).toString();
}

/** An interactivity payload (a shortcut, a modal's submission) as Slack posts it: form-encoded `payload` JSON. */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify({ token: 'unused-verification-token', api_app_id: 'A0APP', ...payload }) }).toString();
}

/** A message shortcut on `message` (its ⋯ menu), with Slack's trigger for opening a modal. */
export function messageShortcut(spec: { team: string; user: string; channel: string; callbackId: string; message: Record<string, unknown> }) {
  return interactionBody({
    type: 'message_action',
    callback_id: spec.callbackId,
    trigger_id: `${Date.now()}.trigger`,
    team: { id: spec.team, domain: 'fake' },
    user: { id: spec.user, name: 'someone', team_id: spec.team },
    channel: { id: spec.channel, name: 'general' },
    message_ts: spec.message.ts,
    message: { type: 'message', ...spec.message },
    response_url: 'https://hooks.slack.test/unused',
  });
}

/** The submission of a modal the bot opened: its view with each input's value by block and action id. */
export function viewSubmission(spec: { team: string; user: string; view: Record<string, unknown>; values: Record<string, Record<string, string>> }) {
  const values = Object.fromEntries(
    Object.entries(spec.values).map(([block, actions]) => [
      block,
      Object.fromEntries(Object.entries(actions).map(([action, value]) => [action, { type: 'plain_text_input', value }])),
    ]),
  );
  return interactionBody({
    type: 'view_submission',
    team: { id: spec.team, domain: 'fake' },
    user: { id: spec.user, name: 'someone', team_id: spec.team },
    trigger_id: `${Date.now()}.trigger`,
    view: { ...spec.view, state: { values } },
  });
}
