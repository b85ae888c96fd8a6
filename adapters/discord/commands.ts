import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  Routes,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type RESTPostAPIContextMenuApplicationCommandsJSONBody,
  type APIApplicationCommandBasicOption,
} from 'discord.js';
import type { REST } from 'discord.js';
import type { CommandSpec, PluginOption } from '../../src/bot/types.ts';
import { TEXT_MAX_CHARS } from '../kit/text-limit.ts';

/** Discord's limits for command and option descriptions, and the option name every image command carries. */
const DESCRIPTION_MAX = 100;
export const IMAGE_OPTION = 'image';
const IMAGE_DESCRIPTION = 'The image to look at (optional once this conversation has one)';

/**
 * The message context-menu command (right-click or long-press a message → Apps): it receives the target message
 * with its attachments even without the Message Content intent, and asks for the question in a modal.
 */
export const ASK_ABOUT_IMAGE = 'Ask about this image';

export type CommandPayload = RESTPostAPIChatInputApplicationCommandsJSONBody | RESTPostAPIContextMenuApplicationCommandsJSONBody;

const CONTEXTS = [InteractionContextType.Guild, InteractionContextType.BotDM];

const OPTION_TYPES: Record<PluginOption['type'], ApplicationCommandOptionType> = {
  text: ApplicationCommandOptionType.String,
  box: ApplicationCommandOptionType.String,
  number: ApplicationCommandOptionType.Number,
  image: ApplicationCommandOptionType.Attachment,
};

function clip(text: string): string {
  return text.length <= DESCRIPTION_MAX ? text : `${text.slice(0, DESCRIPTION_MAX - 1)}…`;
}

/** Typed text is capped where Discord can do it: a string option's `max_length`. */
function optionPayload(option: PluginOption): APIApplicationCommandBasicOption {
  const type = OPTION_TYPES[option.type];
  return {
    type,
    name: option.name,
    description: clip(option.description),
    required: option.required ?? false,
    ...(type === ApplicationCommandOptionType.String ? { max_length: TEXT_MAX_CHARS } : {}),
  } as APIApplicationCommandBasicOption;
}

/**
 * One slash command per plugin. Commands that work on an image get an ATTACHMENT option `image`; it is optional
 * because a conversation that already has an image can be asked again without one (the framework refuses when
 * there is none). Discord wants required options first, so they are moved ahead, keeping their order.
 */
export function commandPayload(spec: CommandSpec): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const options = spec.options.map(optionPayload);
  const declaresImage = spec.options.some((o) => o.type === 'image');
  if (spec.usesImage && !declaresImage) {
    options.unshift({
      type: ApplicationCommandOptionType.Attachment,
      name: IMAGE_OPTION,
      description: IMAGE_DESCRIPTION,
      required: false,
    });
  }
  const ordered = [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
  return {
    type: ApplicationCommandType.ChatInput,
    name: spec.name,
    description: clip(spec.description),
    options: ordered,
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
}

/** The slash commands, and "Ask about this image" when some command works on an image. */
export function commandsPayload(specs: readonly CommandSpec[]): CommandPayload[] {
  const slash: CommandPayload[] = specs.map(commandPayload);
  if (!specs.some((s) => s.usesImage)) return slash;
  const askAboutImage: CommandPayload = {
    type: ApplicationCommandType.Message,
    name: ASK_ABOUT_IMAGE,
    contexts: CONTEXTS,
    integration_types: [ApplicationIntegrationType.GuildInstall],
  };
  return [...slash, askAboutImage];
}

/** The fields that decide what users see; Discord adds ids, versions and defaults that do not. */
interface Comparable {
  name: string;
  type: number;
  description: string;
  options: { type: number; name: string; description: string; required: boolean; max_length?: number }[];
  contexts: number[];
  integration_types: number[];
}

type RemoteCommand = {
  name: string;
  type?: number;
  description?: string;
  options?: { type: number; name: string; description?: string; required?: boolean; max_length?: number }[];
  contexts?: number[] | null;
  integration_types?: number[] | null;
};

function comparable(command: RemoteCommand): Comparable {
  return {
    name: command.name,
    type: command.type ?? ApplicationCommandType.ChatInput,
    description: command.description ?? '',
    options: (command.options ?? []).map((o) => ({
      type: o.type,
      name: o.name,
      description: o.description ?? '',
      required: o.required ?? false,
      ...(o.max_length === undefined ? {} : { max_length: o.max_length }),
    })),
    contexts: [...(command.contexts ?? [])].sort(),
    integration_types: [...(command.integration_types ?? [ApplicationIntegrationType.GuildInstall])].sort(),
  };
}

/** What differs between the registered commands and ours, one line each; empty when nothing does. */
export function commandDifferences(registered: readonly RemoteCommand[], local: readonly CommandPayload[]): string[] {
  const differences: string[] = [];
  const remoteByName = new Map(registered.map((c) => [c.name, comparable(c)]));
  const localNames = new Set(local.map((c) => c.name));
  for (const command of local) {
    const remote = remoteByName.get(command.name);
    if (!remote) differences.push(`/${command.name} is new`);
    else if (JSON.stringify(remote) !== JSON.stringify(comparable(command as RemoteCommand))) {
      differences.push(`/${command.name} changed`);
    }
  }
  for (const name of remoteByName.keys()) if (!localNames.has(name)) differences.push(`/${name} is gone`);
  return differences;
}

/** Registers the commands by bulk overwrite, unless Discord already has exactly these. */
export async function registerCommands(
  rest: REST,
  applicationId: string,
  payload: readonly CommandPayload[],
  guildId?: string,
): Promise<{ changed: boolean; differences: string[] }> {
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  const registered = (await rest.get(route)) as RemoteCommand[];
  const differences = commandDifferences(registered, payload);
  if (differences.length === 0) return { changed: false, differences };
  await rest.put(route, { body: payload });
  return { changed: true, differences };
}
