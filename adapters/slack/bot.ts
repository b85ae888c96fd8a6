import { type App, webApi } from '@slack/bolt';
import { message } from '../../src/bot/messages.ts';
import type {
  BotCore,
  BotReply,
  BotRequest,
  CommandSpec,
  PendingRequest,
  ReplyStream,
  RequestJournal,
} from '../../src/bot/types.ts';
import { CallBudget } from '../kit/budget.ts';
import { argsFromText, parseText } from '../kit/grammar.ts';
import { answerLeftovers, Journal, type Ticket } from '../kit/journal.ts';
import { MapMemory, type Memory } from '../kit/memory.ts';
import { guardedRunner, type Runner } from '../kit/run.ts';
import { textTooLong } from '../kit/text-limit.ts';
import { conversationKey, isFromBot, isPersonMessage, pickImageFile, plainText, threadOf } from './decode.ts';
import { type EventClaims, SeenEvents } from './dedupe.ts';
import { downloadFile, type DownloadLimits } from './download.ts';
import { type ReplyPacing, ThreadReply, type ThreadTarget } from './encode.ts';
import { decodeEntities, escapeText } from './escape.ts';
import { downloadMessage, MESSAGES } from './messages.ts';
import type { Config } from './config.ts';
import type { Log, SlackFile, SlackMessageEvent } from './types.ts';
import { ASK_ABOUT_IMAGE, askModal, readSubmission } from './ask-image.ts';
import { UserGroups } from './user-groups.ts';

/** Uploads retry a few times, quickly: a failing upload is reported in seconds, not after the client's 30 minutes. */
const UPLOAD_RETRIES = { retries: 2, factor: 1, minTimeout: 500, maxTimeout: 1000 };

/** How long a channel's latest image thread is remembered for slash commands. */
const IMAGE_THREAD_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** The thread of the newest image per channel: where slash commands (which carry no thread) find their image. */
class LatestImageThreads {
  constructor(private readonly memory: Memory) {}

  get(team: string, channel: string): string | undefined {
    return this.memory.get(`image-thread:${team}/${channel}`);
  }

  set(team: string, channel: string, threadTs: string): void {
    this.memory.set(`image-thread:${team}/${channel}`, threadTs, IMAGE_THREAD_TTL_MS);
  }
}

/** Mentions, DMs and slash commands turned into core requests, answered in the conversation's thread. */
export class SlackBot {
  private readonly seen: EventClaims;
  private readonly imageThreads: LatestImageThreads;
  private readonly downloadLimits: DownloadLimits;
  /** The workspace's `chat.update` budget, shared by every reply in it. */
  private readonly updates: CallBudget;
  private readonly uploads: webApi.WebClient;
  private readonly guarded: Runner;
  private readonly userGroups?: UserGroups;
  private readonly journal: Journal;

  constructor(
    private readonly core: BotCore,
    private readonly config: Config,
    private readonly log: Log,
    memory: Memory = new MapMemory(),
    claims?: EventClaims,
    journal?: RequestJournal,
  ) {
    this.seen = claims ?? new SeenEvents(memory);
    if (config.userGroups) this.userGroups = new UserGroups(log);
    this.imageThreads = new LatestImageThreads(memory);
    this.journal = new Journal(journal, 'slack', log, config.redeliverAfterMs);
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
    this.journal.deliverWith((entry, reply) => this.deliverTo(app.client, entry, reply));
    app.event('app_mention', async ({ event, body, context, client }) => {
      const mention = event as SlackMessageEvent;
      if (isFromBot(mention) && !this.config.answerBots) return;
      await this.onMessage(client, body.event_id, body.team_id, mention, context.botUserId);
    });
    app.event('message', async ({ event, body, context, client }) => {
      const message = event as SlackMessageEvent;
      if (message.channel_type !== 'im' || !isPersonMessage(message)) return;
      await this.onMessage(client, body.event_id, body.team_id, message, context.botUserId);
    });
    for (const spec of this.core.commands()) {
      app.command(`/${spec.name}`, async ({ command, ack, respond, client }) => {
        const team = command.team_id;
        // Slack sends the typed text HTML-encoded: the model and the heading get what was typed.
        const text = decodeEntities(command.text.trim());
        const imageThread = this.imageThreads.get(team, command.channel_id);
        const refusal = textTooLong(text) ?? (spec.usesImage && imageThread === undefined ? MESSAGES.noImageForCommand(spec.name) : undefined);
        if (refusal !== undefined) return void (await ack(refusal));
        const asked = { ...command, text };
        if (!spec.usesImage || imageThread === undefined) {
          await ack();
          return this.onCommand(client, spec, asked, respond);
        }
        // Journaled before the acknowledgement (a write of a few ms): a kill at any point after it, the
        // placeholder not posted yet, still reaches the image's thread.
        const heading = MESSAGES.askedBy(command.user_id, spec.name, text);
        const request = this.commandRequest(spec, asked, { id: command.user_id }, imageThread);
        const target = { channel: command.channel_id, threadTs: imageThread };
        const ticket = this.journal.hold(request, { team, ...target, heading });
        try {
          await ack(MESSAGES.answeringInThread);
        } catch (error) {
          ticket.done();
          throw error;
        }
        await this.onThreadCommand(client, request, team, target, heading, ticket);
      });
    }
    this.registerAskAboutImage(app);
    app.error(async (error) => {
      this.log.error({ err: error }, 'slack listener failed');
    });
  }

  /** Answers the requests a killed run accepted and never answered: each is run again and delivered by `deliverTo`. */
  answerPrevious(): Promise<void> {
    const lost: BotReply = { kind: 'error', text: message('lost') };
    return answerLeftovers(this.journal, (request) => this.run(request, {}), lost);
  }

  /** Stops delivering undelivered answers again; they stay journaled for the next start. */
  stop(): void {
    this.journal.stop();
  }

  /**
   * A journaled request's reply, after a restart or when the live answer could not be delivered: it replaces the
   * "Looking at the image…" message the request left (or is posted in the thread when there is none).
   */
  private async deliverTo(client: webApi.WebClient, entry: PendingRequest, reply: BotReply): Promise<boolean> {
    const { team, channel, threadTs, ts, heading } = entry.place as Record<string, string | undefined>;
    const target = { channel: channel ?? '', threadTs: threadTs ?? '' };
    const thread = this.threadReply(client, team ?? '', target, heading, ts);
    return (await thread.finish(reply)) !== 'lost';
  }

  private async onMessage(
    client: webApi.WebClient,
    eventId: string,
    team: string,
    event: SlackMessageEvent,
    botUserId: string | undefined,
  ): Promise<void> {
    // A retry carries the same event_id; the same message can also arrive as another event: skip both.
    if (!(await this.seen.claim(`event:${eventId}`, `message:${event.channel}:${event.ts}`))) {
      this.log.debug({ eventId, channel: event.channel }, 'slack event already taken');
      return;
    }
    const text = plainText(event.text ?? '', botUserId);
    const target = { channel: event.channel, threadTs: threadOf(event) };
    const asked = { eventId: `slack-${team}-${event.channel}-${event.ts}` }; // the message, whichever event delivered it
    await this.answer(client, team, event.user ?? '', target, text, pickImageFile(event.files), asked);
  }

  /** A question about a message's image (or the thread's), answered in the message's thread. */
  private async answer(
    client: webApi.WebClient,
    team: string,
    userId: string,
    target: ThreadTarget,
    text: string,
    file: SlackFile | 'not-an-image' | undefined,
    { heading, eventId }: { heading?: string; eventId?: string } = {},
  ): Promise<void> {
    const reply = this.threadReply(client, team, target, heading);
    const { command, args } = parseText(this.core.commands(), text);
    const key = conversationKey(team, target.channel, target.threadTs);
    // The thread is the reply chain: a top-level mention starts one at its own ts.
    const asked: BotRequest = {
      key,
      user: { id: userId },
      chain: target.threadTs,
      command,
      args,
      ...(eventId ? { eventId } : {}),
    };
    // Slack has its acknowledgement already and will not send the event again: journaled before anything else.
    const ticket = this.journal.hold(asked, { team, ...target, ...(heading ? { heading } : {}) });
    const tooLong = textTooLong(text);
    if (tooLong !== undefined) return this.finish(ticket, reply, userError(tooLong));
    if (file === 'not-an-image') return this.finish(ticket, reply, userError(MESSAGES.notAnImage));
    await reply.begin(MESSAGES.working);
    if (reply.messageTs) ticket.moved({ ts: reply.messageTs });
    let image: BotRequest['image'];
    if (file) {
      const download = await downloadFile(file, this.config.botToken, this.downloadLimits);
      if (!download.ok) {
        this.log.warn({ channel: target.channel, file: file.id, reason: download.reason, detail: download.detail }, 'slack download failed');
        const refusal = userError(downloadMessage(download.reason, this.config.downloadMaxBytes));
        return this.finish(ticket, reply, refusal);
      }
      image = download.image;
    }
    const request: BotRequest = { ...asked, user: await this.user(client, team, userId), ...(image ? { image } : {}) };
    ticket.ready(request);
    const result = await this.run(request, streamTo(reply));
    if (image && result.kind === 'answer') this.imageThreads.set(team, target.channel, target.threadTs);
    // the framework's "needs an image", which Slack users get in Slack's own words
    const needsImage = result.error === 'needs-image';
    await this.finish(ticket, reply, needsImage ? userError(MESSAGES.noImageForMention) : result);
  }

  /** "Ask about this image" on a message: a modal asks the question, sent with the message's image. */
  private registerAskAboutImage(app: App): void {
    app.shortcut(ASK_ABOUT_IMAGE.callbackId, async ({ shortcut, ack, client }) => {
      await ack();
      if (shortcut.type !== 'message_action') return;
      const message = shortcut.message as { ts: string; thread_ts?: string; files?: SlackFile[] };
      const file = pickImageFile(message.files);
      if (file === undefined || file === 'not-an-image') {
        const text = file === undefined ? MESSAGES.noImageInMessage : MESSAGES.notAnImage;
        await client.chat.postEphemeral({ channel: shortcut.channel.id, user: shortcut.user.id, text });
        return;
      }
      const target = { channel: shortcut.channel.id, threadTs: message.thread_ts ?? message.ts, file };
      await client.views.open({ trigger_id: shortcut.trigger_id, view: askModal(target) });
    });
    app.view(ASK_ABOUT_IMAGE.callbackId, async ({ ack, view, body, client }) => {
      await ack();
      const { target, question } = readSubmission(view);
      const team = body.team?.id ?? body.user.team_id ?? '';
      const heading = MESSAGES.askedAboutImage(body.user.id, question);
      const where = { channel: target.channel, threadTs: target.threadTs };
      await this.answer(client, team, body.user.id, where, question, target.file, { heading, eventId: `slack-view-${view.id}` });
    });
  }

  /** A command about the bot or the conversation (help, reset): answered only to the person who asked. */
  private async onCommand(
    client: webApi.WebClient,
    spec: CommandSpec,
    command: SlashCommand,
    respond: (message: { text: string; response_type: 'ephemeral' }) => Promise<unknown>,
  ): Promise<void> {
    const user = await this.user(client, command.team_id, command.user_id);
    const result = await this.run(this.commandRequest(spec, command, user), {});
    await respond({ text: escapeText(result.text), response_type: 'ephemeral' }).catch((error: unknown) => {
      const where = { command: spec.name, channel: command.channel_id };
      this.log.warn({ err: error, ...where }, 'slack response_url refused the reply');
    });
  }

  /** A command about the channel's latest image, journaled already: answered in that image's thread. */
  private async onThreadCommand(
    client: webApi.WebClient,
    asked: BotRequest,
    team: string,
    target: ThreadTarget,
    heading: string,
    ticket: Ticket,
  ): Promise<void> {
    const request = { ...asked, user: await this.user(client, team, asked.user.id) };
    ticket.ready(request);
    const reply = this.threadReply(client, team, target, heading);
    await reply.begin(MESSAGES.working);
    if (reply.messageTs) ticket.moved({ ts: reply.messageTs });
    await this.finish(ticket, reply, await this.run(request, streamTo(reply)));
  }

  private commandRequest(
    spec: CommandSpec,
    command: SlashCommand,
    user: BotRequest['user'],
    imageThread?: string,
  ): BotRequest {
    return {
      key: conversationKey(command.team_id, command.channel_id, imageThread),
      user,
      command: spec.name,
      args: argsFromText(spec, command.text),
      ...(imageThread === undefined ? {} : { chain: imageThread }),
    };
  }

  /** Posts the final reply; the request leaves the journal once its thread heard back, else it is delivered later. */
  private async finish(ticket: Ticket, reply: ThreadReply, final: BotReply): Promise<void> {
    if ((await reply.finish(final)) !== 'lost') return ticket.done();
    this.log.warn({ request: ticket.id }, 'slack answer not delivered; delivering again later');
    ticket.undelivered(final);
  }

  /** The asker, with their user groups as roles when `userGroups` is on. */
  private async user(client: webApi.WebClient, team: string, id: string): Promise<BotRequest['user']> {
    if (!this.userGroups) return { id };
    return { id, roles: await this.userGroups.of(client, team, id) };
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

/** The fields of a slash command's payload the bot reads, its text decoded. */
interface SlashCommand {
  team_id: string;
  channel_id: string;
  user_id: string;
  text: string;
}

function userError(text: string): BotReply {
  return { kind: 'user-error', text };
}

function streamTo(reply: ThreadReply): ReplyStream {
  return { onText: (text) => reply.onText(text), onQueued: (position) => reply.onQueued(position) };
}
