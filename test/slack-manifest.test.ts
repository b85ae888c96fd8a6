import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { buildManifest } from '../adapters/slack/manifest.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createRegistry } from '../src/bot/registry.ts';
import { run } from '../app/cli/commands/slack.ts';

const commands = createRegistry(PLUGINS).commands();

interface SlashCommand {
  command: string;
  description: string;
  usage_hint?: string;
  url?: string;
}
interface Manifest {
  display_information: { name: string };
  features: { slash_commands: SlashCommand[]; bot_user: { display_name: string } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { socket_mode_enabled: boolean; event_subscriptions: { bot_events: string[]; request_url?: string } };
}

/** Runs the CLI subcommand and returns what it printed and its exit code. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(console, 'error').mockImplementation((...msg) => {
    err += msg.join(' ');
  });
  const code = await run(args);
  vi.restoreAllMocks();
  return { code, out, err };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('slack manifest', () => {
  it('asks for exactly the scopes and events the bot uses, with Socket Mode on', () => {
    const manifest = buildManifest(commands) as unknown as Manifest;
    expect(manifest.oauth_config.scopes.bot.sort()).toEqual(
      ['app_mentions:read', 'chat:write', 'commands', 'files:read', 'files:write', 'im:history'].sort(),
    );
    expect(manifest.settings.event_subscriptions.bot_events.sort()).toEqual(['app_mention', 'message.im']);
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.settings.event_subscriptions.request_url).toBeUndefined();
  });

  it('declares one slash command per registered command, within Slack\'s limits', () => {
    const manifest = buildManifest(commands) as unknown as Manifest;
    const declared = manifest.features.slash_commands;
    expect(declared.map((c) => c.command)).toEqual(commands.map((c) => `/${c.name}`));
    for (const [i, c] of declared.entries()) {
      expect(c.command).toMatch(/^\/[a-z0-9_-]{1,31}$/);
      expect(c.description).toBe(commands[i]!.description);
      expect(c.description.length).toBeLessThanOrEqual(2000);
      expect((c.usage_hint ?? '').length).toBeLessThanOrEqual(1000);
      expect(c.url).toBeUndefined();
    }
    const refer = declared.find((c) => c.command === '/refer');
    expect(refer?.usage_hint).toBe('<phrase>');
  });

  it('points events and commands at the request URL when one is given (HTTP mode)', () => {
    const url = 'https://bot.example.com/slack/events';
    const manifest = buildManifest(commands, { requestUrl: url, name: 'Vision' }) as unknown as Manifest;
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.event_subscriptions.request_url).toBe(url);
    expect(manifest.features.slash_commands.every((c) => c.url === url)).toBe(true);
    expect(manifest.display_information.name).toBe('Vision');
    const raw = manifest as unknown as { settings: { interactivity: unknown } };
    expect(raw.settings.interactivity).toEqual({ is_enabled: true, request_url: url });
  });

  it('declares the "Ask about this image" message shortcut, with interactivity on for its modal', () => {
    const manifest = buildManifest(commands) as unknown as { features: { shortcuts: unknown[] }; settings: { interactivity: unknown } };
    expect(manifest.features.shortcuts).toEqual([
      { name: 'Ask about this image', type: 'message', callback_id: 'ask_about_image', description: 'Ask the bot about the image in this message' },
    ]);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true });
  });

  it('prints YAML (or JSON) that reads back as the same manifest', async () => {
    const yaml = await cli('manifest');
    expect(yaml.code).toBe(0);
    expect(parse(yaml.out)).toEqual(buildManifest(commands));
    const json = await cli('manifest', '--json', '--name', 'Vision');
    expect(JSON.parse(json.out)).toEqual(buildManifest(commands, { name: 'Vision' }));
  });

  it('refuses bad arguments with a short usage message and exit code 2', async () => {
    for (const args of [[], ['manifest', '--request-url', 'http://plain.example.com'], ['manifest', '--name', 'x'.repeat(36)], ['manifest', '--what']]) {
      const result = await cli(...args);
      expect(result.code).toBe(2);
      expect(result.out).toBe('');
      expect(result.err).toContain('usage: minigpt-bot slack manifest');
    }
  });
});
