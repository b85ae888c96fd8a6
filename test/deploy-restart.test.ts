import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES as SLACK_MESSAGES } from '../adapters/slack/messages.ts';
import { hashImage as imageHash } from '../src/bot/image.ts';
import { message } from '../src/bot/messages.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import { type FakeDiscord, user, type FakeMessage, type RecordedRequest } from './fakes/discord/index.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { botFolder, BothFakes, until, type BotProcess } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';

/**
 * The deployment promise: `npm start` with Discord and Slack both on, a conversation in a thread of each, a
 * SIGTERM in the middle, a fresh start on the same state file, and the follow-ups (no image attached) still
 * know their image and history. The mini model's text is noise, so only continuity is asserted.
 */

const SECRET = 'signing-secret-for-the-restart-test';
const SLACK_CHANNEL = 'C0DEPLOY';
const SLACK_THREAD = '1900000100.000100';
const TEST_TIMEOUT = 180_000;

describe('GIVEN npm start with Discord and Slack on local fakes and a state file', () => {
  let fakes: BothFakes;
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let dir: string;
  const processes: BotProcess[] = [];
  const png = drawScene(11).png;
  const carol = user('carol');

  beforeAll(async () => {
    fakes = await BothFakes.start(SECRET);
    ({ discord, slack } = fakes);
    dir = botFolder(
      {
        generation: { maxNewTokens: 4 },
        state: { file: 'state/bot.sqlite' },
        slack: { host: '127.0.0.1', apiRetries: 0 },
      },
      'minigpt-deploy-',
    );
  });

  afterAll(() => fakes?.close());

  /** One start of the bot: resolves once both adapters are up, with where its HTTP endpoints listen. */
  async function startBot() {
    const { bot, eventsUrl } = await fakes.startBot(dir);
    processes.push(bot);
    return { bot, eventsUrl, healthUrl: String((await bot.logLine('health and metrics listening')).url) };
  }

  /** A mention in the Discord thread; resolves with the bot's last reply to it once the request is answered. */
  async function askDiscord(bot: BotProcess, text: string, withImage: boolean): Promise<string> {
    const answered = requestsLogged(bot, 'discord');
    const attachments = withImage ? [discord.attachment(png, 'scene.png', 'image/png')] : [];
    const asked: FakeMessage = discord.userMessage({
      channel: discord.thread,
      author: carol,
      content: `<@${discord.botUser.id}> ${text}`,
      mentions: [discord.botUser],
      attachments,
    });
    await until(() => requestsLogged(bot, 'discord') > answered, 'the Discord request to be answered', 60_000);
    const isReply = (m: FakeMessage): boolean => m.message_reference?.message_id === asked.id;
    const reply = await until(() => [...discord.messages.values()].find(isReply), 'the Discord reply', 10_000);
    // The reply is created by the first streamed text and edited into the final answer: wait for it to settle.
    const finalEdit = (r: RecordedRequest): boolean => r.method === 'PATCH' && r.path.endsWith(`/messages/${reply.id}`);
    await discord.waitForRequest(finalEdit, 0, 10_000).catch(() => undefined);
    return reply.content;
  }

  /** A mention in the Slack thread; resolves with the bot's settled reply. */
  async function askSlack(eventsUrl: string, text: string, ts: string, withImage: boolean): Promise<string> {
    const before = slack.thread(SLACK_CHANNEL, SLACK_THREAD).length;
    const files = withImage ? [slack.addFile(png, { name: 'scene.png' })] : undefined;
    const body = messageEnvelope({
      team: slack.team,
      channel: SLACK_CHANNEL,
      user: 'U0CAROL',
      text: `<@${slack.botUserId}> ${text}`,
      ts,
      ...(ts === SLACK_THREAD ? {} : { threadTs: SLACK_THREAD }),
      ...(files ? { files } : {}),
    });
    expect((await sendSigned(eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
    const settled = await slack.waitFor(
      () => {
        const messages = slack.thread(SLACK_CHANNEL, SLACK_THREAD);
        const last = messages.at(-1);
        const done = messages.length > before && last && !last.text.includes(SLACK_MESSAGES.working) && !last.text.endsWith(SLACK_MESSAGES.streamingMark);
        return done && last;
      },
      'the Slack reply',
      60_000,
    );
    return settled.text;
  }

  function requestsLogged(bot: BotProcess, platform: string): number {
    return bot.logs().filter((l) => l.msg === 'request' && l.platform === platform).length;
  }

  it(
    'WHEN it is stopped with SIGTERM and started again THEN follow-ups without an image continue both threads',
    async () => {
      const first = await startBot();
      const health = await fetch(`${first.healthUrl}/healthz`);
      expect(health.status).toBe(200);
      const checks = ((await health.json()) as { checks: { name: string; ok: boolean }[] }).checks;
      expect(checks).toEqual(
        expect.arrayContaining([
          { name: 'model', ok: true },
          { name: 'discord', ok: true },
          { name: 'slack', ok: true },
        ]),
      );

      expect(await askDiscord(first.bot, 'what is in it?', true)).not.toBe('');
      expect(await askSlack(first.eventsUrl, 'what is in it?', SLACK_THREAD, true)).not.toBe('');
      expect(first.bot.logs().filter((l) => l.msg === 'request').map((l) => l.outcome)).toEqual(['answer', 'answer']);
      expect(await first.bot.terminate()).toBe(0);

      const second = await startBot();
      const needsImage = [message('needs-image'), SLACK_MESSAGES.noImageForMention];
      const discordFollowUp = await askDiscord(second.bot, 'and what else?', false);
      const slackFollowUp = await askSlack(second.eventsUrl, 'and what else?', '1900000100.000200', false);
      expect(needsImage).not.toContain(discordFollowUp);
      expect(needsImage).not.toContain(slackFollowUp);
      expect(second.bot.logs().filter((l) => l.msg === 'request').map((l) => l.outcome)).toEqual(['answer', 'answer']);

      const metrics = await (await fetch(`${second.healthUrl}/metrics`)).text();
      expect(metrics).toMatch(/^minigpt_requests_total\{command="chat",outcome="answer"\} 2$/m);
      expect(await second.bot.terminate()).toBe(0);

      // Each thread's conversation holds both turns, about the one image posted before the restart.
      const store = new SqliteConversationStore(join(dir, 'state/bot.sqlite'));
      try {
        const conversations = [...store.activity()].map(({ id }) => store.get(id)!);
        const discordThread = conversations.find((c) => c.key.platform === 'discord' && c.id.includes(discord.thread.id));
        const slackThread = conversations.find((c) => c.key.platform === 'slack' && c.key.thread === SLACK_THREAD);
        for (const conversation of [discordThread, slackThread]) {
          expect(conversation?.image?.hash).toBe(imageHash(png));
          expect(conversation?.turns.map((t) => t.question)).toEqual(['what is in it?', 'and what else?']);
        }
      } finally {
        store.close();
      }

      const secrets = [discord.token, slack.botToken, SECRET];
      for (const bot of processes) for (const secret of secrets) expect(bot.err() + bot.out()).not.toContain(secret);
    },
    TEST_TIMEOUT,
  );
});
