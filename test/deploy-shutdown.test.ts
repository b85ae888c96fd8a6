import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { start as startDiscord, type DiscordAdapter } from '../adapters/discord/index.ts';
import { start as startSlack, type SlackAdapter } from '../adapters/slack/index.ts';
import { PLUGINS } from '../plugins/index.ts';
import { createBot } from '../src/bot/core.ts';
import { message } from '../src/bot/messages.ts';
import { ShutdownGate, shutDownGracefully } from '../src/ops/shutdown.ts';
import { FakeDiscord, user, type FakeMessage } from './fakes/discord/index.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { botFolder, fakesEnv, startBotProcess, until } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';
import { gate, ScriptedEngine } from './helpers/scripted-engine.ts';

/**
 * SIGTERM while people wait for answers: an answer that finishes within the grace period is delivered, one that
 * does not is cancelled and its user told to ask again, in the same chat message, before the adapters disconnect.
 */

const RESTARTING = message('restarting');
const SECRET = 'signing-secret-for-the-shutdown-test';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const png = drawScene(5).png;

describe('GIVEN Discord and Slack adapters on local fakes, behind the shutdown gate', () => {
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let discordAdapter: DiscordAdapter;
  let slackAdapter: SlackAdapter;
  let stuck: ReturnType<typeof gate>;
  let engine: ScriptedEngine;
  let shutdownGate: ShutdownGate;
  const events: string[] = [];

  beforeEach(async () => {
    events.length = 0;
    discord = await FakeDiscord.start();
    slack = await FakeSlack.start();
    stuck = gate();
    // "slow" questions wait for a release that only an aborted engine would give; others take 300 ms.
    engine = new ScriptedEngine(async (request) => {
      if (request.question.includes('slow')) await stuck.wait;
      else await new Promise((resolve) => setTimeout(resolve, 300));
      return 'the finished answer';
    }, 4);
    shutdownGate = new ShutdownGate();
    const core = shutdownGate.wrap(createBot({ engine, plugins: PLUGINS, settings: {} }));
    discordAdapter = await startDiscord(core, { token: discord.token, apiUrl: discord.apiUrl }, quiet);
    slackAdapter = await startSlack(core, { botToken: slack.botToken, signingSecret: SECRET, port: 0, host: '127.0.0.1', apiUrl: slack.apiUrl, apiRetries: 0 }, quiet, { env: {} });
  });

  afterEach(async () => {
    stuck.release();
    // Most tests have stopped them already; a second stop may refuse, which is fine here.
    await discordAdapter.stop(0).catch(() => undefined);
    await slackAdapter.stop(0).catch(() => undefined);
    await discord.close();
    await slack.close();
  });

  const askDiscord = (text: string): FakeMessage =>
    discord.userMessage({
      channel: discord.thread,
      author: user('erin'),
      content: `<@${discord.botUser.id}> ${text}`,
      mentions: [discord.botUser],
      attachments: [discord.attachment(png, 'scene.png', 'image/png')],
    });
  const discordReply = (asked: FakeMessage): string | undefined =>
    [...discord.messages.values()].find((m) => m.message_reference?.message_id === asked.id)?.content;

  async function askSlack(text: string, ts: string): Promise<void> {
    const body = messageEnvelope({
      team: slack.team,
      channel: 'C0STOP',
      user: 'U0ERIN',
      text: `<@${slack.botUserId}> ${text}`,
      ts,
      files: [slack.addFile(png)],
    });
    expect((await sendSigned(`http://127.0.0.1:${slackAdapter.port}/slack/events`, SECRET, body, 'application/json')).status).toBe(200);
  }
  const slackReply = (ts: string): string | undefined => slack.thread('C0STOP', ts).at(-1)?.text;

  function shutDown(graceMs: number) {
    return shutDownGracefully({
      gate: shutdownGate,
      adapters: [discordAdapter, slackAdapter],
      graceMs,
      abortEngine: async () => {
        events.push('abort');
        stuck.release();
      },
      closeRest: async () => {
        events.push(`closed with discord ${discordAdapter.connected() ? 'connected' : 'disconnected'}`);
      },
      log: quiet,
    });
  }

  it('WHEN answers are running at SIGTERM THEN quick ones are delivered, slow ones get the restarting message', async () => {
    const quickDiscord = askDiscord('what is it?');
    const slowDiscord = askDiscord('a slow question');
    await askSlack('what is it?', '1900000200.000100');
    await askSlack('a slow question', '1900000200.000200');
    await until(() => engine.requests.length === 4, 'all four generations to start', 10_000);
    expect(discordAdapter.connected()).toBe(true);
    expect(slackAdapter.connected()).toBe(true);

    await shutDown(1_500);

    expect(discordReply(quickDiscord)).toBe('the finished answer');
    expect(slackReply('1900000200.000100')).toContain('the finished answer');
    expect(discordReply(slowDiscord)).toBe(RESTARTING);
    expect(slackReply('1900000200.000200')).toBe(RESTARTING);
    expect(events).toEqual(['abort', 'closed with discord disconnected']);
    expect(slackAdapter.connected()).toBe(false);
  });

  it('WHEN every answer finishes within the grace period THEN none is cancelled and the engine is not aborted', async () => {
    const asked = askDiscord('what is it?');
    await askSlack('what is it?', '1900000300.000100');
    await until(() => engine.requests.length === 2, 'both generations to start', 10_000);
    const started = Date.now();

    await shutDown(20_000);

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(discordReply(asked)).toBe('the finished answer');
    expect(slackReply('1900000300.000100')).toContain('the finished answer');
    expect(events).toEqual(['closed with discord disconnected']);
  });

  it('WHEN a request reaches the framework during the shutdown THEN it is told to ask again instead of starting', async () => {
    const asked = askDiscord('a slow question');
    await until(() => engine.requests.length === 1, 'the generation to start', 10_000);
    const stopping = shutDown(1_000);
    const late = await shutdownGate
      .wrap({ commands: () => [], handle: () => Promise.reject(new Error('must not run')), queueLength: () => 0 })
      .handle({ key: { platform: 'test', workspace: 'w', channel: 'c' }, user: { id: 'u' }, command: 'chat', args: {} }, {}, { imageBytes: 1 });
    await stopping;
    expect(late.text).toBe(RESTARTING);
    expect(discordReply(asked)).toBe(RESTARTING);
  });
});


describe('GIVEN npm start with a long generation in flight', () => {
  let discord: FakeDiscord;
  beforeEach(async () => {
    discord = await FakeDiscord.start();
  });
  afterEach(() => discord.close());

  it('WHEN SIGTERM arrives with no grace period left THEN the generation is cancelled, the asker gets the restarting message, and the process exits 0', async () => {
    const config = { generation: { maxNewTokens: 1500 }, state: { file: 'bot.sqlite' }, shutdown: { graceSeconds: 0 } };
    const bot = startBotProcess(botFolder(config, 'minigpt-shutdown-'), fakesEnv({ discord }));
    try {
      await bot.logLine('discord: connected');
      const asked = discord.userMessage({
        channel: discord.thread,
        author: user('frank'),
        content: `<@${discord.botUser.id}> describe everything`,
        mentions: [discord.botUser],
        attachments: [discord.attachment(png, 'scene.png', 'image/png')],
      });
      // The typing indicator is sent once the image is downloaded, right before the request goes to the engine.
      await discord.waitForRequest((r) => r.method === 'POST' && r.path === `/channels/${discord.thread.id}/typing`);
      expect(await bot.terminate(), bot.err()).toBe(0);
      const reply = [...discord.messages.values()].find((m) => m.message_reference?.message_id === asked.id);
      expect(reply?.content).toBeTruthy();
      const done = bot.logs().find((l) => l.msg === 'shut down');
      expect(done?.cancelled).toBe(1);
      expect(reply!.content).toBe(RESTARTING);
    } finally {
      await bot.kill();
    }
  }, 120_000);
});
