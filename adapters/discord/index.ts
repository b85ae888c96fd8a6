import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, OAuth2Scopes, Partials, PermissionFlagsBits, Status } from 'discord.js';
import type { BotCore, RequestJournal } from '../../src/bot/types.ts';
import { message } from '../../src/bot/messages.ts';
import { StartupError } from '../../src/config/startup-error.ts';
import { CallBudget } from '../kit/budget.ts';
import { InFlight, STOP_GRACE_MS } from '../../src/ops/in-flight.ts';
import { Journal } from '../kit/journal.ts';
import { guardedRunner } from '../kit/run.ts';
import { handleAskMenu, handleAskModal, isAskModal, PendingImages } from './ask-image.ts';
import { commandsPayload, registerCommands } from './commands.ts';
import { type Config, parseConfig, type ConfigInput } from './config.ts';
import { fatalClose } from './gateway-close.ts';
import type { Handling } from './handling.ts';
import { handleInteraction } from './interactions.ts';
import { handleMessage, isForBot } from './messages.ts';
import { answerPrevious, deliveryTo } from './recover.ts';
import type { DiscordAdapter, Log } from './types.ts';

export { Config, parseConfig, type ConfigInput } from './config.ts';
export { commandsPayload, registerCommands } from './commands.ts';
export type { DiscordAdapter, Log } from './types.ts';

/** What the bot must be allowed to do in a channel to read requests and answer them with images. */
export const REQUIRED_PERMISSIONS = [
  PermissionFlagsBits.ViewChannel,
  PermissionFlagsBits.SendMessages,
  PermissionFlagsBits.SendMessagesInThreads,
  PermissionFlagsBits.AttachFiles,
  PermissionFlagsBits.ReadMessageHistory,
];

/** What a start may be handed besides the settings; every field is optional. */
export interface StartOptions {
  /** Called once, after one error line, when the gateway is closed for good (a revoked token, refused intents). */
  onFatal?: (error: Error) => void;
  /** Accepted requests kept until answered, so those a killed run left are answered once connected. */
  journal?: RequestJournal;
}

/** discord.js's sharding: every shard of the count in this client, or as many as Discord recommends. */
function shardOptions(shards: Config['shards']): { shards: 'auto' } | { shards: number[]; shardCount: number } {
  if (shards === 'auto') return { shards: 'auto' };
  return { shards: Array.from({ length: shards }, (_, id) => id), shardCount: shards };
}

/**
 * Connects to Discord, registers the slash commands when they changed, logs the invite link, and answers slash
 * commands, "Ask about this image", mentions, DMs and messages in the configured channels until stopped.
 * A gateway closed for good (a revoked token, refused intents) fails the start, or later logs one line and calls
 * `onFatal`, so the process can exit instead of living on deaf. With a `journal`, accepted requests are kept in it
 * until answered, and those a killed run left are answered once connected.
 */
export async function start(
  core: BotCore,
  input: ConfigInput,
  log: Log,
  { onFatal = () => undefined, journal }: StartOptions = {},
): Promise<DiscordAdapter> {
  const parsed = parseConfig(input);
  if (!parsed.ok) throw new StartupError(parsed.message);
  const config = parsed.config;
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.DirectMessages,
      // Privileged (it must be switched on in the developer portal), and only needed to read messages that do not
      // mention the bot: mentions and DMs carry their content without it.
      ...(config.channels.length > 0 ? [GatewayIntentBits.MessageContent] : []),
    ],
    // DM channels are not cached before their first message; without this their messages are dropped.
    partials: [Partials.Channel],
    rest: config.apiUrl ? { api: config.apiUrl } : {},
    ...shardOptions(config.shards),
  });
  const handling: Handling = {
    config,
    log,
    edits: new CallBudget(config.editIntervalMs),
    downloadLimits: {
      maxBytes: config.maxImageBytes,
      timeoutMs: config.downloadTimeoutMs,
      extraHostname: config.apiUrl ? new URL(config.apiUrl).hostname : undefined,
    },
    commands: core.commands(),
    run: guardedRunner(core, message('unexpected'), (error, request) =>
      log.error({ err: error, command: request.command, key: request.key }, 'discord: request failed'),
    ),
    journal: new Journal(journal, 'discord', log, config.redeliverAfterMs),
  };
  handling.journal.deliverWith(deliveryTo(client, handling));

  const inFlight = new InFlight((error, what) => log.error({ err: error, ...what }, 'discord: handler failed'));
  const track = (work: Promise<void>, what: object): void => void inFlight.track(work, what);
  const pending = new PendingImages();
  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand()) {
      track(handleInteraction(interaction, handling), { command: interaction.commandName });
    } else if (interaction.isMessageContextMenuCommand()) {
      track(handleAskMenu(interaction, handling, pending), { command: interaction.commandName });
    } else if (interaction.isModalSubmit() && isAskModal(interaction.customId)) {
      track(handleAskModal(interaction, handling, pending), { modal: interaction.customId });
    }
  });
  client.on(Events.MessageCreate, (msg) => {
    const botId = client.user?.id;
    if (botId && isForBot(msg, botId, config.channels, config.answerBots)) {
      track(handleMessage(msg, botId, handling), { message: msg.id });
    }
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord: client error'));
  let fatal: Error | undefined;
  const closedForGood = new Promise<Error>((resolve) => {
    client.on(Events.ShardDisconnect, ({ code }) => {
      const why = fatalClose(code);
      if (why === undefined || fatal) return;
      fatal = new Error(`discord: ${why}`);
      resolve(fatal);
    });
  });

  const ready = once(client, Events.ClientReady);
  try {
    await client.login(config.token);
    await Promise.race([ready, closedForGood.then((error) => Promise.reject(error))]);
  } catch (error) {
    await client.destroy();
    if (fatal) throw fatal;
    throw new StartupError(`discord: could not log in: ${error instanceof Error ? error.message : String(error)}`);
  }
  void closedForGood.then((error) => {
    log.error({}, error.message);
    onFatal(error);
  });
  const applicationId = client.application!.id;

  if (config.registerCommands) {
    const result = await registerCommands(client.rest, applicationId, commandsPayload(core.commands()), config.guild);
    log.info({ changed: result.changed, differences: result.differences, guild: config.guild }, 'discord: slash commands');
  }
  const inviteUrl = client.generateInvite({
    scopes: [OAuth2Scopes.Bot, OAuth2Scopes.ApplicationsCommands],
    permissions: REQUIRED_PERMISSIONS,
  });
  const shards = client.options.shardCount;
  log.info({ inviteUrl, user: client.user?.tag, shards }, 'discord: ready; invite the bot with this link');
  track(answerPrevious(handling), { previousRun: true });

  return {
    inviteUrl,
    applicationId,
    // The gateway stays up while answers in progress are posted: replies need the client, new events are ignored.
    async stop(graceMs = STOP_GRACE_MS) {
      client.removeAllListeners(Events.InteractionCreate).removeAllListeners(Events.MessageCreate);
      await inFlight.settle(graceMs);
      handling.journal.stop();
      await client.destroy();
    },
    connected: () => client.isReady() && client.ws.shards.every((shard) => shard.status === Status.Ready),
  };
}
