import { type App, webApi } from '@slack/bolt';
import { message } from '../../src/bot/messages.ts';
import type {
  BotCore,
  BotReply,
  BotRequest,
  CommandSpec,
  ConversationKey,
  PendingRequest,
  ReplyStream,
  RequestJournal,
} from '../../src/bot/types.ts';
import { CallBudget } from '../kit/budget.ts';
import { argsFromText, parseText } from '../kit/grammar.ts';
import { answerLeftovers, Journal, type Ticket } from '../kit/journal.ts';
import { guardedRunner, type Runner } from '../kit/run.ts';
import { conversationKey, isPersonMessage, pickImageFile, plainText, threadOf } from './decode.ts';
import { SeenEvents } from './dedupe.ts';
import { downloadFile, type DownloadLimits } from './download.ts';
import type { Delivered } from '../kit/live-reply.ts';
import { escapeText, type ReplyPacing, ThreadReply, type ThreadTarget } from './encode.ts';
import { downloadMessage, MESSAGES } from './messages.ts';
import type { Config } from './config.ts';
import type { Log, SlackMessageEvent } from './types.ts';

/** The framework's "needs an image" reply, which Slack users get in Slack's own words. */
const NEEDS_IMAGE = message('needs-image');

/** Uploads retry a few times, quickly: a failing upload is reported in seconds, not after the client's 30 minutes. */
const UPLOAD_RETRIES = { retries: 2, factor: 1, minTimeout: 500, maxTimeout: 1000 };

/** How many channels' "latest image thread" are remembered for slash commands. */
const MAX_CHANNELS_REMEMBERED = 5000;

/** The thread of the newest image per channel: where slash commands (which carry no thread) find their image. */
class LatestImageThreads {
  private readonly threads = new Map<string, string>();

  get(team: string, channel: string): string | undefined {
    return this.threads.get(`${team}/${channel}`);
  }

  set(team: string, channel: string, threadTs: string): void {
    const key = `${team}/${channel}`;
    this.threads.delete(key);
    this.threads.set(key, threadTs);
    const oldest = this.threads.keys().next();
    if (this.threads.size > MAX_CHANNELS_REMEMBERED && !oldest.done) this.threads.delete(oldest.value);
  }
}

/** Mentions, DMs and slash commands turned into core requests, answered in the conversation's thread. */
export class SlackBot {
  private readonly seen = new SeenEvents();
  private readonly imageThreads = new LatestImageThreads();
  private readonly downloadLimits: DownloadLimits;
  /** The workspace's `chat.update` budget, shared by every reply in it. */
  private readonly updates: CallBudget;
  private readonly uploads: webApi.WebClient;
  private readonly guarded: Runner;
  private readonly journal: Journal;

  constructor(
    private readonly core: BotCore,
    private readonly config: Config,
    private readonly log: Log,
    journal?: RequestJournal,
  ) {
    this.journal = new Journal(journal, 'slack', log);
    this.updates = CallBudget.perMinute(config.updatesPerMinute);
    this.guarded = guardedRunner(core, MESSAGES.generic, (error, request) =>
      log.error({ err: error, command: request.command, channel: request.key.channel }, 'slack request failed'),
    );
    this.uploads = new webApi.WebClient(config.botToken, {
      ...(config.apiUrl ? { slackApiUrl: config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/` } : {}),
      retryConfig: UPLOAD_RETRIES,
    });
    this.downloadLimits = {
      maxBytes: config.downloadMaxBytes,
      timeoutMs: config.downloadTimeoutMs,
      trustedOrigins: config.apiUrl ? [new URL(config.apiUrl).origin] : [],
    };
  }

  register(app: App): void {
    app.event('app_mention', async ({ event, body, context, client }) => {
      await this.onMessage(client, body.event_id, body.team_id, event as SlackMessageEvent, context.botUserId);
    });
    app.event('message', async ({ event, body, context, client }) => {
      const message = event as SlackMessageEvent;
      if (message.channel_type !== 'im' || !isPersonMessage(message)) return;
      await this.onMessage(client, body.event_id, body.team_id, message, context.botUserId);
    });
    for (const spec of this.core.commands()) {
      app.command(`/${spec.name}`, async ({ command, ack, respond, client }) => {
        const team = command.team_id;
        const imageThread = this.imageThreads.get(team, command.channel_id);
        const missingImage = spec.usesImage && imageThread === undefined;
        await ack(missingImage ? MESSAGES.noImageForCommand(spec.name) : spec.usesImage ? MESSAGES.answeringInThread : undefined);
        if (missingImage) return;
        await this.onSlashCommand(client, spec, command, imageThread, respond);
      });
    }
    app.error(async (error) => {
      this.log.error({ err: error }, 'slack listener failed');
    });
  }

  /**
   * Answers the requests a killed run accepted and never answered: each is run again and its answer replaces
   * the "Looking at the image…" message it left (or is posted in the thread when there is none).
   */
  answerPrevious(client: webApi.WebClient): Promise<void> {
    const lost: BotReply = { kind: 'error', text: message('lost') };
    const run = (request: BotRequest) => this.run(request, {});
    return answerLeftovers(this.journal, run, async (entry: PendingRequest, reply) => {
      const { team, channel, threadTs, ts, heading } = entry.place as Record<string, string | undefined>;
      const target = { channel: channel ?? '', threadTs: threadTs ?? '' };
      const thread = this.threadReply(client, team ?? '', target, heading, ts);
      return (await thread.finish(reply)) !== 'lost';
    }, lost);
  }

  private async onMessage(
    client: webApi.WebClient,
    eventId: string,
    team: string,
    event: SlackMessageEvent,
    botUserId: string | undefined,
  ): Promise<void> {
    // A retry carries the same event_id; the same message can also arrive as another event: skip both.
    if (!this.seen.claim(`event:${eventId}`, `message:${event.channel}:${event.ts}`)) {
      this.log.debug({ eventId, channel: event.channel }, 'slack event already taken');
      return;
    }
    const thread = threadOf(event);
    const reply = this.threadReply(client, team, { channel: event.channel, threadTs: thread });
    const { command, args } = parseText(this.core.commands(), plainText(event.text ?? '', botUserId));
    const key = conversationKey(team, event.channel, thread);
    const asked: BotRequest = { key, user: { id: event.user ?? '' }, command, args };
    // Slack has its acknowledgement already and will not send the event again: journaled before anything else.
    const ticket = this.journal.hold(asked, { team, channel: event.channel, threadTs: thread });
    const file = pickImageFile(event.files);
    if (file === 'not-an-image') {
      this.finished(ticket, await reply.finish(userError(MESSAGES.notAnImage)));
      return;
    }
    await reply.begin(MESSAGES.working);
    if (reply.messageTs) ticket.moved({ ts: reply.messageTs });
    let image: BotRequest['image'];
    if (file) {
      const download = await downloadFile(file, this.config.botToken, this.downloadLimits);
      if (!download.ok) {
        this.log.warn({ channel: event.channel, file: file.id, reason: download.reason, detail: download.detail }, 'slack download failed');
        const refusal = userError(downloadMessage(download.reason, this.config.downloadMaxBytes));
        this.finished(ticket, await reply.finish(refusal));
        return;
      }
      image = download.image;
    }
    ticket.ready({ ...asked, ...(image ? { image } : {}) });
    const request: BotRequest = { ...asked, ...(image ? { image } : {}) };
    const result = await this.run(request, streamTo(reply));
    if (image && result.kind === 'answer') this.imageThreads.set(team, event.channel, thread);
    const needsImage = result.kind === 'user-error' && result.text === NEEDS_IMAGE;
    this.finished(ticket, await reply.finish(needsImage ? userError(MESSAGES.noImageForMention) : result));
  }

  private async onSlashCommand(
    client: webApi.WebClient,
    spec: CommandSpec,
    command: { team_id: string; channel_id: string; user_id: string; text: string },
    imageThread: string | undefined,
    respond: (message: { text: string; response_type: 'ephemeral' }) => Promise<unknown>,
  ): Promise<void> {
    const key: ConversationKey = conversationKey(command.team_id, command.channel_id, imageThread);
    const request: BotRequest = {
      key,
      user: { id: command.user_id },
      command: spec.name,
      args: argsFromText(spec, command.text.trim()),
    };
    if (!spec.usesImage || imageThread === undefined) {
      // Commands about the bot or the conversation (help, reset) answer only the person who asked.
      const result = await this.run(request, {});
      await respond({ text: escapeText(result.text), response_type: 'ephemeral' }).catch((error: unknown) => {
        this.log.warn({ err: error, command: spec.name, channel: command.channel_id }, 'slack response_url refused the reply');
      });
      return;
    }
    const heading = MESSAGES.askedBy(command.user_id, spec.name, command.text.trim());
    const target = { channel: command.channel_id, threadTs: imageThread };
    const reply = this.threadReply(client, command.team_id, target, heading);
    await reply.begin(MESSAGES.working);
    const ticket = this.accept(request, command.team_id, reply, heading);
    this.finished(ticket, await reply.finish(await this.run(request, streamTo(reply))));
  }

  /** Journals a request whose placeholder is up: where it is (thread, message) and the heading kept above it. */
  private accept(request: BotRequest, team: string, reply: ThreadReply, heading: string): Ticket {
    const { channel, threadTs } = reply.target;
    const ts = reply.messageTs;
    return this.journal.accept(request, { team, channel, threadTs, ...(ts ? { ts } : {}), heading });
  }

  /** A request leaves the journal once its thread heard back; one that reached no one stays for the next start. */
  private finished(ticket: Ticket, delivered: Delivered): void {
    if (delivered === 'lost') this.log.error({ request: ticket.id }, 'slack answer not delivered; kept for the next start');
    else ticket.done();
  }

  private run(request: BotRequest, stream: ReplyStream): Promise<BotReply> {
    return this.guarded(request, stream, { imageBytes: this.config.uploadMaxBytes });
  }

  private threadReply(
    client: webApi.WebClient,
    team: string,
    target: ThreadTarget,
    heading?: string,
    ts?: string,
  ): ThreadReply {
    const pacing: ReplyPacing = { budget: this.updates, lane: team, minIntervalMs: this.config.updateIntervalMs };
    const uploads = this.uploads;
    const optional = { ...(heading ? { heading } : {}), ...(ts ? { ts } : {}) };
    return new ThreadReply({ client, uploads, target, pacing, log: this.log, ...optional });
  }
}

function userError(text: string): BotReply {
  return { kind: 'user-error', text };
}

function streamTo(reply: ThreadReply): ReplyStream {
  return { onText: (text) => reply.onText(text), onQueued: (position) => reply.onQueued(position) };
}
