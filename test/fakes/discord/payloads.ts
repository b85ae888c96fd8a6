/** Discord API payloads as the fake sends them: only the fields discord.js reads, with Discord's shapes. */

const DISCORD_EPOCH = 1420070400000n;
let increment = 0n;

/** A snowflake that grows with time, like Discord's. */
export function snowflake(): string {
  increment = (increment + 1n) & 0xfffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | increment).toString();
}

/** A snowflake of about now whose guild Discord serves on shard `id` of `count`: its timestamp modulo the count. */
export function snowflakeOnShard([id, count]: [number, number]): string {
  increment = (increment + 1n) & 0xfffn;
  const time = BigInt(Date.now()) - DISCORD_EPOCH;
  return (((time - (time % BigInt(count)) + BigInt(id)) << 22n) | increment).toString();
}

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export function user(username: string, bot = false): FakeUser {
  return { id: snowflake(), username, global_name: username, discriminator: '0', avatar: null, ...(bot ? { bot } : {}) };
}

export const ChannelType = { GuildText: 0, DM: 1, PublicThread: 11 } as const;

export interface FakeChannel {
  id: string;
  type: number;
  name?: string;
  guild_id?: string;
  parent_id?: string | null;
  [field: string]: unknown;
}

export function textChannel(guildId: string, name: string): FakeChannel {
  return { id: snowflake(), type: ChannelType.GuildText, guild_id: guildId, name, position: 0, permission_overwrites: [], parent_id: null };
}

export function thread(parent: FakeChannel, name: string, ownerId: string): FakeChannel {
  return {
    id: snowflake(),
    type: ChannelType.PublicThread,
    guild_id: parent.guild_id,
    parent_id: parent.id,
    name,
    owner_id: ownerId,
    thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
    member_count: 1,
    message_count: 0,
  };
}

export interface FakeRole {
  id: string;
  name: string;
}

export function role(name: string): FakeRole {
  return { id: snowflake(), name };
}

export interface FakeGuild {
  id: string;
  name: string;
  channels: FakeChannel[];
  threads: FakeChannel[];
  roles: FakeRole[];
}

/** A guild member as events carry it (the user apart): its role ids. */
export function memberPayload(roles: string[]): Record<string, unknown> {
  return { roles, joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 };
}

const rolePayload = (r: FakeRole, position: number) => ({
  id: r.id,
  name: r.name,
  color: 0,
  hoist: false,
  position,
  permissions: '0',
  managed: false,
  mentionable: false,
  flags: 0,
});

/** GUILD_CREATE's payload: the @everyone role (id = guild id) lets everyone read and write. */
export function guildCreate(guild: FakeGuild, botUser: FakeUser): Record<string, unknown> {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    owner_id: botUser.id,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    features: [],
    mfa_level: 0,
    premium_tier: 0,
    preferred_locale: 'en-US',
    nsfw_level: 0,
    roles: [
      { id: guild.id, name: '@everyone', color: 0, hoist: false, position: 0, permissions: '559623605571137', managed: false, mentionable: false, flags: 0 },
      ...guild.roles.map((r, i) => rolePayload(r, i + 1)),
    ],
    emojis: [],
    stickers: [],
    channels: guild.channels,
    threads: guild.threads,
    members: [{ user: botUser, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 }],
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    member_count: 2,
    large: false,
    unavailable: false,
    joined_at: new Date().toISOString(),
  };
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: false;
  mention_everyone: false;
  mentions: FakeUser[];
  mention_roles: string[];
  attachments: FakeAttachment[];
  embeds: unknown[];
  pinned: false;
  type: number;
  flags: number;
  message_reference?: { message_id: string; channel_id: string; guild_id?: string };
  [field: string]: unknown;
}

export function messagePayload(fields: {
  channel: FakeChannel;
  author: FakeUser;
  content: string;
  mentions?: FakeUser[];
  attachments?: FakeAttachment[];
  replyTo?: FakeMessage;
  flags?: number;
}): FakeMessage {
  const { channel, replyTo } = fields;
  return {
    id: snowflake(),
    channel_id: channel.id,
    ...(channel.guild_id ? { guild_id: channel.guild_id } : {}),
    author: fields.author,
    content: fields.content,
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: fields.mentions ?? [],
    mention_roles: [],
    attachments: fields.attachments ?? [],
    embeds: [],
    pinned: false,
    type: replyTo ? 19 : 0,
    flags: fields.flags ?? 0,
    ...(replyTo
      ? { message_reference: { message_id: replyTo.id, channel_id: replyTo.channel_id, guild_id: replyTo.guild_id }, referenced_message: replyTo }
      : {}),
  };
}

export type CommandOption = { name: string; type: number; value: string | number };

type InteractionFields = { applicationId: string; user: FakeUser; channel: FakeChannel; roles?: string[]; attachmentSizeLimit?: number };

/** What every interaction carries: ids, token, where and by whom (a member with roles in a guild, a user in a DM). */
function interactionPayload(
  fields: InteractionFields,
  type: number,
  data: Record<string, unknown>,
): Record<string, unknown> & { id: string; token: string } {
  const { channel } = fields;
  const inGuild = channel.guild_id !== undefined;
  return {
    id: snowflake(),
    application_id: fields.applicationId,
    type,
    token: `interaction-token-${snowflake()}`,
    version: 1,
    data,
    channel_id: channel.id,
    channel,
    ...(inGuild
      ? {
          guild_id: channel.guild_id,
          guild_locale: 'en-US',
          member: { ...memberPayload(fields.roles ?? []), user: fields.user, permissions: '559623605571137' },
          context: 0,
        }
      : { user: fields.user, context: 1 }),
    app_permissions: '559623605571137',
    locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: inGuild ? { '0': channel.guild_id } : { '1': fields.user.id },
    attachment_size_limit: fields.attachmentSizeLimit ?? 10 * 1024 * 1024,
  };
}

/** An APPLICATION_COMMAND interaction as INTERACTION_CREATE carries it. */
export function slashCommand(
  fields: InteractionFields & { name: string; options?: CommandOption[]; attachments?: FakeAttachment[] },
): Record<string, unknown> & { id: string; token: string } {
  const attachments = Object.fromEntries((fields.attachments ?? []).map((a) => [a.id, a]));
  const data = { id: snowflake(), name: fields.name, type: 1, options: fields.options ?? [], resolved: { attachments } };
  return interactionPayload(fields, 2, data);
}

/** A message context-menu command: Discord resolves the target message in full, attachments included. */
export function messageCommand(
  fields: InteractionFields & { name: string; target: FakeMessage },
): Record<string, unknown> & { id: string; token: string } {
  const data = {
    id: snowflake(),
    name: fields.name,
    type: 3,
    target_id: fields.target.id,
    resolved: { messages: { [fields.target.id]: fields.target } },
  };
  return interactionPayload(fields, 2, data);
}

/** A MODAL_SUBMIT interaction: the modal's custom id and each text input's value, each inside its label. */
export function modalSubmit(
  fields: InteractionFields & { customId: string; values: Record<string, string> },
): Record<string, unknown> & { id: string; token: string } {
  const components = Object.entries(fields.values).map(([custom_id, value], i) => ({
    type: 18,
    id: 2 * i + 1,
    component: { type: 4, id: 2 * i + 2, custom_id, value },
  }));
  return interactionPayload(fields, 5, { custom_id: fields.customId, components });
}
