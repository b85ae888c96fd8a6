import { describe, expect, it } from 'vitest';
import { parseConfig, withEnvironment } from '../adapters/slack/config.ts';
import { MapMemory } from '../adapters/kit/memory.ts';
import { SeenEvents } from '../adapters/slack/dedupe.ts';

describe('Slack settings', () => {
  it('reads tokens, SLACK_PORT and SLACK_API_URL from the environment over the file section', () => {
    const env = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_PORT: '3100', SLACK_API_URL: 'http://127.0.0.1:9/api/' };
    const parsed = parseConfig(withEnvironment({ updateIntervalMs: 500, port: 4000 }, env));
    expect(parsed.ok && parsed.config).toMatchObject({ botToken: 'xoxb-1', port: 3100, updateIntervalMs: 500, apiUrl: env.SLACK_API_URL });
    const defaults = parseConfig(withEnvironment({}, { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }));
    expect(defaults.ok && defaults.config.port).toBe(3000);
  });

  it('names the variable or key that is wrong', () => {
    const noSecret = parseConfig(withEnvironment({}, { SLACK_BOT_TOKEN: 'xoxb-1' }));
    expect(!noSecret.ok && noSecret.message).toMatch(/^SLACK_SIGNING_SECRET: /);
    const userToken = parseConfig(withEnvironment({}, { SLACK_BOT_TOKEN: 'xoxp-1', SLACK_SIGNING_SECRET: 's' }));
    expect(!userToken.ok && userToken.message).toMatch(/^SLACK_BOT_TOKEN: must be a bot token/);
    const badPort = parseConfig(withEnvironment({}, { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_PORT: 'http' }));
    expect(!badPort.ok && badPort.message).toMatch(/^SLACK_PORT: /);
    const typo = parseConfig(withEnvironment({ updateIntervalMS: 5 }, { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }));
    expect(!typo.ok && typo.message).toContain('slack.updateIntervalMS');
  });
});

describe('remembering events already taken', () => {
  it('takes an event once within the TTL, by any of its keys, and again after it expires', () => {
    let now = 0;
    const seen = new SeenEvents(new MapMemory(100, () => now), 10 * 60_000);
    expect(seen.claim('event:Ev1', 'message:C1:1.0')).toBe(true);
    expect(seen.claim('event:Ev1', 'message:C1:1.0')).toBe(false);
    expect(seen.claim('event:Ev2', 'message:C1:1.0')).toBe(false);
    now += 9 * 60_000;
    expect(seen.claim('event:Ev3', 'message:C1:1.0')).toBe(false);
    now += 2 * 60_000;
    expect(seen.claim('event:Ev4', 'message:C1:1.0')).toBe(true);
  });
});
