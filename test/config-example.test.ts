import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { Config as DiscordConfig, parseConfig as parseDiscord } from '../adapters/discord/config.ts';
import { Config as SlackConfig, parseConfig as parseSlack } from '../adapters/slack/config.ts';
import { loadConfig } from '../src/config/load.ts';
import { Config } from '../src/config/schema.ts';

const ROOT = join(import.meta.dirname, '..');
const EXAMPLE = join(ROOT, 'minigpt-bot.example.yaml');
const text = readFileSync(EXAMPLE, 'utf8');

/** Every key a schema accepts, dotted, through the optional and default wrappers. */
function keys(schema: unknown, prefix = ''): string[] {
  const unwrap = (s: any): any => (s?._zod?.def?.innerType ? unwrap(s._zod.def.innerType) : s);
  const shape = unwrap(schema)?.shape as Record<string, unknown> | undefined;
  if (!shape || Object.keys(shape).length === 0) return [prefix.slice(0, -1)];
  return Object.entries(shape).flatMap(([key, value]) => keys(value, `${prefix}${key}.`));
}

/** Whether `dotted` is written in the example, as a key or as a commented-out key, under its parents. */
function written(dotted: string): boolean {
  let at = 0;
  for (const part of dotted.split('.')) {
    const found = new RegExp(`^[ #]*${part}:`, 'm').exec(text.slice(at));
    if (!found) return false;
    at += found.index + found[0].length;
  }
  return true;
}

describe('GIVEN minigpt-bot.example.yaml', () => {
  test('THEN it names every key of the configuration, the adapters\' sections included', () => {
    const all = [
      ...keys(Config).filter((k) => k !== 'discord' && k !== 'slack'),
      ...keys(DiscordConfig, 'discord.').filter((k) => !['discord.token', 'discord.apiUrl'].includes(k)),
      ...keys(SlackConfig, 'slack.').filter((k) => !['slack.botToken', 'slack.appToken', 'slack.signingSecret', 'slack.apiUrl'].includes(k)),
    ];
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter((k) => !written(k))).toEqual([]);
  });

  test('THEN, loaded as it is, it gives exactly the defaults', () => {
    const example = loadConfig({ path: EXAMPLE, env: {}, cwd: ROOT }).config;
    const defaults = loadConfig({ env: {}, cwd: join(ROOT, 'test') }).config;
    const { discord, slack, plugins, console: shell, state, ...rest } = example;
    const { discord: _d, slack: _s, plugins: defaultPlugins, console: defaultShell, state: defaultState, ...defaultRest } = defaults;
    expect(rest).toEqual(defaultRest);
    expect(plugins.disabled).toEqual(defaultPlugins.disabled);
    expect(shell.outDir).toBe(join(ROOT, 'out'));
    expect(state.file).toBe(join(ROOT, 'state/minigpt-bot.sqlite'));
    expect([defaultShell.outDir, defaultState.file]).toEqual([join(ROOT, 'test/out'), join(ROOT, 'test/state/minigpt-bot.sqlite')]);
    // each adapter section, with a token added, is what the adapter would use with no section at all
    const discordFromExample = parseDiscord({ ...(discord as object), token: 't' });
    const slackFromExample = parseSlack({ ...(slack as object), botToken: 'xoxb-1', appToken: 'xapp-1' });
    expect(discordFromExample).toEqual(parseDiscord({ token: 't' }));
    expect(slackFromExample).toEqual(parseSlack({ botToken: 'xoxb-1', appToken: 'xapp-1' }));
  });

  test('THEN its plugin prompts are the plugins\' own defaults', async () => {
    const { PLUGINS } = await import('../plugins/index.ts');
    const sections = parse(text).plugins as Record<string, { prompt: string }>;
    for (const name of ['caption', 'ground']) {
      const plugin = PLUGINS.find((p) => p.name === name)!;
      expect(plugin.config!.parse({})).toEqual(sections[name]);
    }
  });
});
