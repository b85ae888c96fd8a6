import type { CommandSpec } from '../../src/bot/types.ts';
import { ASK_ABOUT_IMAGE } from './ask-image.ts';

/** What the bot needs: read mentions and DMs, answer, read the images people post, upload the annotated ones. */
export const BOT_SCOPES = ['app_mentions:read', 'chat:write', 'files:read', 'files:write', 'commands', 'im:history'];
export const BOT_EVENTS = ['app_mention', 'message.im'];

/** Slack's limits on manifest fields. */
const APP_NAME_MAX = 35;
const DESCRIPTION_MAX = 140;
const COMMAND_MAX = 32;

export interface ManifestOptions {
  name?: string;
  /** Public URL of the HTTP receiver (`https://host/slack/events`); without it the app uses Socket Mode. */
  requestUrl?: string;
}

/** A hint shown under the slash command in Slack's composer, built from the command's options. */
function usageHint(spec: CommandSpec): string | undefined {
  const parts = spec.options
    .filter((o) => o.type !== 'image')
    .map((o) => {
      const shown = o.type === 'box' ? `${o.name}: x1,y1,x2,y2 | #n` : o.type === 'number' ? `${o.name}=N` : o.name;
      return o.required ? `<${shown}>` : `[${shown}]`;
    });
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The Slack app manifest for this bot, generated from the command registry so creating the app is one paste. */
export function buildManifest(commands: readonly CommandSpec[], options: ManifestOptions = {}): Record<string, unknown> {
  const name = (options.name ?? 'MiniGPT-v2').slice(0, APP_NAME_MAX);
  const socketMode = options.requestUrl === undefined;
  const slashCommands = commands
    .filter((c) => c.name.length + 1 <= COMMAND_MAX)
    .map((c) => {
      const hint = usageHint(c);
      return {
        command: `/${c.name}`,
        description: c.description,
        ...(hint ? { usage_hint: hint } : {}),
        ...(socketMode ? {} : { url: options.requestUrl }),
        should_escape: false,
      };
    });
  return {
    _metadata: { major_version: 1, minor_version: 1 },
    display_information: {
      name,
      description: 'Ask about images: answers, captions and boxes drawn onto your pictures.'.slice(0, DESCRIPTION_MAX),
    },
    features: {
      app_home: { home_tab_enabled: false, messages_tab_enabled: true, messages_tab_read_only_enabled: false },
      bot_user: { display_name: name, always_online: true },
      slash_commands: slashCommands,
      shortcuts: [
        {
          name: ASK_ABOUT_IMAGE.title,
          type: 'message',
          callback_id: ASK_ABOUT_IMAGE.callbackId,
          description: 'Ask the bot about the image in this message',
        },
      ],
    },
    oauth_config: { scopes: { bot: BOT_SCOPES } },
    settings: {
      event_subscriptions: { ...(socketMode ? {} : { request_url: options.requestUrl }), bot_events: BOT_EVENTS },
      interactivity: { is_enabled: true, ...(socketMode ? {} : { request_url: options.requestUrl }) },
      org_deploy_enabled: false,
      socket_mode_enabled: socketMode,
      token_rotation_enabled: false,
    },
  };
}
