import { afterEach, describe, expect, it } from 'vitest';
import { start as startDiscord, type DiscordAdapter } from '../adapters/discord/index.ts';
import { start as startSlack, type SlackAdapter } from '../adapters/slack/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { startHealthServer } from '../src/ops/health-server.ts';
import { BotMetrics } from '../src/ops/metrics.ts';
import { FakeDiscord } from './fakes/discord/index.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { FakeSocketMode } from './fakes/slack/socket.ts';
import { until } from './helpers/bot-process.ts';
import { ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * /healthz is what a container runtime restarts the bot on, so it must say "unhealthy" when a chat connection
 * is really gone, not merely when the adapter was never stopped.
 */

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const core = () => createBot({ engine: new ScriptedEngine(() => 'unused'), plugins: PLUGINS });

type Health = { status: number; body: { status: string; checks: { name: string; ok: boolean }[] } };

describe('GIVEN the health endpoint over adapters connected to local fakes', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  });

  async function healthOf(adapters: Record<string, { connected(): boolean }>): Promise<() => Promise<Health>> {
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: new BotMetrics(),
      checks: () => Object.entries(adapters).map(([name, adapter]) => ({ name, ok: () => adapter.connected() })),
    });
    cleanup.push(() => server.close());
    return async () => {
      const res = await fetch(`${server.url}/healthz`);
      return { status: res.status, body: (await res.json()) as Health['body'] };
    };
  }

  it('WHEN the Discord gateway drops THEN /healthz turns 503 naming discord', async () => {
    const fake = await FakeDiscord.start();
    cleanup.push(() => fake.close());
    const discord: DiscordAdapter = await startDiscord(core(), { token: fake.token, apiUrl: fake.apiUrl }, quiet);
    cleanup.push(() => discord.stop(0));
    const health = await healthOf({ discord });
    expect(await health()).toEqual({ status: 200, body: { status: 'ok', checks: [{ name: 'discord', ok: true }] } });

    fake.gateway.close();
    await until(() => !discord.connected(), 'the client to notice the dropped gateway', 10_000);
    expect(await health()).toEqual({ status: 503, body: { status: 'unhealthy', checks: [{ name: 'discord', ok: false }] } });
  });

  it('WHEN the Slack Socket Mode link drops THEN slack reports not connected', async () => {
    const fake = await FakeSlack.start();
    const link = new FakeSocketMode(fake);
    cleanup.push(() => fake.close(), () => link.close());
    const slack: SlackAdapter = await startSlack(core(), { botToken: fake.botToken, appToken: fake.appToken, apiUrl: fake.apiUrl, apiRetries: 0 }, quiet, { env: {} });
    cleanup.push(() => slack.stop(0));
    const health = await healthOf({ slack });
    await until(() => slack.connected(), 'the Socket Mode link', 10_000);
    expect((await health()).status).toBe(200);

    await link.close();
    await until(() => !slack.connected(), 'the client to notice the dropped link', 10_000);
    expect((await health()).body.checks).toEqual([{ name: 'slack', ok: false }]);
  });

  it('WHEN the Slack HTTP receiver stops listening THEN slack reports not connected', async () => {
    const fake = await FakeSlack.start();
    cleanup.push(() => fake.close());
    const slack = await startSlack(core(), { botToken: fake.botToken, signingSecret: 'secret', port: 0, host: '127.0.0.1', apiUrl: fake.apiUrl, apiRetries: 0 }, quiet, { env: {} });
    const health = await healthOf({ slack });
    expect((await health()).status).toBe(200);
    await slack.stop(0);
    expect(await health()).toEqual({ status: 503, body: { status: 'unhealthy', checks: [{ name: 'slack', ok: false }] } });
  });
});
