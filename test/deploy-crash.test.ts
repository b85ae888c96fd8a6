import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES as SLACK_MESSAGES } from '../adapters/slack/messages.ts';
import { type FakeDiscord, user, type FakeMessage, type RecordedRequest } from './fakes/discord/index.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { botFolder, BothFakes, journaledRequests, until } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';

/**
 * The crash promise: `npm start` on both fakes with 12 requests accepted and unanswered (4 Discord mentions,
 * 4 Discord slash commands, 4 Slack mentions), killed with SIGKILL, started again on the same state file: every
 * one of the 12 gets its final reply, and no "thinking…", queue place or "Looking at the image…" is left.
 */

const SECRET = 'signing-secret-for-the-crash-test';
const SLACK_CHANNEL = 'C0CRASH';
const EACH = 4;
const TEST_TIMEOUT = 240_000;

describe('GIVEN npm start on both fakes with 12 requests in progress', () => {
  let fakes: BothFakes;
  let discord: FakeDiscord;
  let slack: FakeSlack;
  let dir: string;
  const png = drawScene(5).png;

  beforeAll(async () => {
    fakes = await BothFakes.start(SECRET);
    ({ discord, slack } = fakes);
    dir = botFolder(
      {
        model: { maxBatch: 1 },
        generation: { maxNewTokens: 200 },
        limits: { perUser: { requests: 100 } },
        state: { file: 'state/bot.sqlite' },
        slack: { host: '127.0.0.1', apiRetries: 0 },
      },
      'minigpt-crash-',
    );
  });

  afterAll(() => fakes?.close());

  it(
    'WHEN it is killed with SIGKILL and started again THEN all 12 get a final reply and none stays "thinking"',
    async () => {
      const first = await fakes.startBot(dir);
      const mentions: FakeMessage[] = [];
      const tokens: string[] = [];
      const slackThreads: string[] = [];
      for (let i = 0; i < EACH; i++) {
        mentions.push(
          discord.userMessage({
            channel: discord.channel,
            author: user(`dana${i}`),
            content: `<@${discord.botUser.id}> what is in picture ${i}?`,
            mentions: [discord.botUser],
            attachments: [discord.attachment(png, `scene${i}.png`, 'image/png')],
          }),
        );
        const attachment = discord.attachment(png, `asked${i}.png`, 'image/png');
        const interaction = discord.interactionPayload({
          name: 'vqa',
          user: user(`erin${i}`),
          options: [
            { name: 'question', type: 3, value: `what colour is shape ${i}?` },
            { name: 'image', type: 11, value: attachment.id },
          ],
          attachments: [attachment],
        });
        discord.interaction(interaction);
        tokens.push(interaction.token);
        const ts = `1900000200.00010${i}`;
        const files = [slack.addFile(png, { name: `scene${i}.png` })];
        const text = `<@${slack.botUserId}> what is it?`;
        const body = messageEnvelope({ team: slack.team, channel: SLACK_CHANNEL, user: `U0FRANK${i}`, text, ts, files });
        expect((await sendSigned(first.eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
        slackThreads.push(ts);
      }
      await until(() => journaledRequests(dir) === 3 * EACH, 'all 12 requests journaled', 60_000);
      await first.bot.kill();
      const unansweredAtKill = journaledRequests(dir);
      expect(unansweredAtKill).toBeGreaterThanOrEqual(10);

      const restartedAt = Date.now();
      const second = await fakes.startBot(dir);
      await until(() => journaledRequests(dir) === 0, 'the journal to empty after the restart', 120_000);

      // Slack: each thread's one bot message is the final answer, not a placeholder, queue place or stream.
      for (const ts of slackThreads) {
        const replies = slack.thread(SLACK_CHANNEL, ts);
        expect(replies).toHaveLength(1);
        for (const reply of replies) {
          expect(reply.text).not.toContain(SLACK_MESSAGES.working);
          expect(reply.text).not.toMatch(/Waiting for my turn/);
          expect(reply.text.endsWith(SLACK_MESSAGES.streamingMark)).toBe(false);
        }
      }
      // Discord slash commands: the deferred reply ("thinking…", no content) was edited into an answer.
      expect(tokens).toHaveLength(EACH);
      for (const token of tokens) expect(discord.original(token)?.content ?? '').not.toBe('');
      // Discord mentions: each has a reply, written after the restart, that is not a queue place.
      const queued = /^Waiting in the queue/;
      expect(mentions).toHaveLength(EACH);
      for (const asked of mentions) {
        const replies = [...discord.messages.values()].filter((m) => m.message_reference?.message_id === asked.id);
        expect(replies).toHaveLength(1);
        expect(replies[0]!.content).not.toMatch(queued);
        expect(replies[0]!.content).not.toBe('');
        const touched = (r: RecordedRequest) => r.at >= restartedAt && r.path.includes(replies[0]!.id);
        const created = (r: RecordedRequest) =>
          r.at >= restartedAt && (r.body as { message_reference?: { message_id?: string } })?.message_reference?.message_id === asked.id;
        expect(discord.requests.some((r) => touched(r) || created(r))).toBe(true);
      }
      expect(await second.bot.terminate()).toBe(0);
    },
    TEST_TIMEOUT,
  );
});
