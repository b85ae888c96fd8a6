import { once } from 'node:events';
import { Client, Events, GatewayIntentBits, OAuth2Scopes, Partials, PermissionFlagsBits, Status } from 'discord.js';
import type { BotCore } from '../../src/bot/types.ts';
import { StartupError } from '../../src/config/startup-error.ts';
import { commandsPayload, registerCommands } from './commands.ts';
import { parseConfig, type ConfigInput } from './config.ts';
import { chatTextOption } from './decode.ts';
import { makeRunner, type Handling } from './handling.ts';
import { handleInteraction } from './interactions.ts';
import { handleMessage, isForBot } from './messages.ts';
import { EditThrottle } from './throttle.ts';
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

/** How long stopping waits for answers in progress before closing the connection anyway, unless told otherwise. */
const STOP_GRACE_MS = 5_000;

/**
 * Connects to Discord, registers the slash commands when they changed, logs the invite link, and answers slash
 * commands, mentions, DMs and messages in the configured channels until stopped.
 */
export async function start(core: BotCore, input: ConfigInput, log: Log): Promise<DiscordAdapter> {
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
  });
  const handling: Handling = {
    config,
    log,
    throttle: new EditThrottle(config.editIntervalMs),
    downloadLimits: {
      maxBytes: config.maxImageBytes,
      timeoutMs: config.downloadTimeoutMs,
      extraHostname: config.apiUrl ? new URL(config.apiUrl).hostname : undefined,
    },
    chatTextOption: chatTextOption(core.commands()),
    run: makeRunner(core, log),
  };

  const inFlight = new Set<Promise<void>>();
  const track = (work: Promise<void>, what: object): void => {
    const guarded = work.catch((error: unknown) => log.error({ err: error, ...what }, 'discord: handler failed'));
    inFlight.add(guarded);
    void guarded.finally(() => inFlight.delete(guarded));
  };
  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand()) {
      track(handleInteraction(interaction, handling), { command: interaction.commandName });
    }
  });
  client.on(Events.MessageCreate, (msg) => {
    const botId = client.user?.id;
    if (botId && isForBot(msg, botId, config.channels)) track(handleMessage(msg, botId, handling), { message: msg.id });
  });
  client.on(Events.Error, (error) => log.error({ err: error }, 'discord: client error'));

  const ready = once(client, Events.ClientReady);
  try {
    await client.login(config.token);
  } catch (error) {
    await client.destroy();
    throw new StartupError(`discord: could not log in: ${error instanceof Error ? error.message : String(error)}`);
  }
  await ready;
  const applicationId = client.application!.id;

  if (config.registerCommands) {
    const result = await registerCommands(client.rest, applicationId, commandsPayload(core.commands()), config.guild);
    log.info({ changed: result.changed, differences: result.differences, guild: config.guild }, 'discord: slash commands');
  }
  const inviteUrl = client.generateInvite({
    scopes: [OAuth2Scopes.Bot, OAuth2Scopes.ApplicationsCommands],
    permissions: REQUIRED_PERMISSIONS,
  });
  log.info({ inviteUrl, user: client.user?.tag }, 'discord: ready; invite the bot with this link');

  return {
    inviteUrl,
    applicationId,
    // The gateway stays up while answers in progress are posted: replies need the client, new events are ignored.
    async stop(graceMs = STOP_GRACE_MS) {
      client.removeAllListeners(Events.InteractionCreate).removeAllListeners(Events.MessageCreate);
      const settled = Promise.allSettled([...inFlight]);
      await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      await client.destroy();
    },
    connected: () => client.isReady() && client.ws.shards.every((shard) => shard.status === Status.Ready),
  };
}
