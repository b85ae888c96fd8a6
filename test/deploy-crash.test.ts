import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES as SLACK_MESSAGES } from '../adapters/slack/messages.ts';
import { type FakeDiscord, user, type FakeMessage, type RecordedRequest } from './fakes/discord/index.ts';
import type { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned, slashCommandBody } from './fakes/slack/requests.ts';
import { botFolder, BothFakes, journaledPlaces, journaledRequests, until } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';

/**
 * The crash promise: `npm start` on both fakes with 12 requests accepted and unanswered (4 Discord mentions,
 * 4 Discord slash commands, 4 Slack mentions), killed with SIGKILL, started again on the same state file: every
 * one of the 12 gets its final reply, and no "thinking…", queue place or "Looking at the image…" is left.
 * Slash commands killed right after their acknowledgement (Discord's deferral sent, Slack's ack sent and its
 * placeholder not yet posted) are answered too.
 */

const SECRET = 'signing-secret-for-the-crash-test';
const SLACK_CHANNEL = 'C0CRASH';
const EACH = 4;
const TEST_TIMEOUT = 240_000;

describe('GIVEN npm start on both fakes with 12 requests in progress', () => {
  let fakes: BothFakes;
  let discord: FakeDiscord;
  let slack: FakeSlack;
  const png = drawScene(5).png;

  beforeAll(async () => {
    fakes = await BothFakes.start(SECRET);
    ({ discord, slack } = fakes);
  });

  /** A directory with the bot's config file; its state file starts empty. */
  function botDir(): string {
    return botFolder(
      {
        model: { maxBatch: 1 },
        generation: { maxNewTokens: 200 },
        limits: { perUser: { requests: 100 } },
        state: { file: 'state/bot.sqlite' },
        slack: { host: '127.0.0.1', apiRetries: 0 },
      },
      'minigpt-crash-',
    );
  }

  afterAll(() => fakes?.close());

  it(
    'WHEN it is killed with SIGKILL and started again THEN all 12 get a final reply and none stays "thinking"',
    async () => {
      const dir = botDir();
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
      // Killed once the Slack placeholders are recorded: Slack has no idempotent post, and finding one again
      // without its ts would need the channels' history scopes, so a kill in the few milliseconds while one is
      // being posted would leave it standing.
      const placeholders = () => journaledPlaces(dir).filter((place) => place.ts !== undefined).length;
      await until(() => journaledRequests(dir) === 3 * EACH && placeholders() === EACH, 'all 12 requests journaled, the Slack placeholders recorded', 60_000);
      await first.bot.kill();
      const unansweredAtKill = journaledRequests(dir);
      expect(unansweredAtKill).toBeGreaterThanOrEqual(10);

      const restartedAt = Date.now();
      const second = await fakes.startBot(dir);
      await until(() => journaledRequests(dir) === 0, 'the journal to empty after the restart', 120_000);

      // Slack: each thread's one bot message is the final answer, not a placeholder, queue place or stream.
      for (const ts of slackThreads) {
        const replies = slack.thread(SLACK_CHANNEL, ts);
        expect(replies.map((r) => r.text)).toHaveLength(1);
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
        expect(replies.map((r) => r.text)).toHaveLength(1);
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

  it(
    'WHEN killed right after acknowledging slash commands THEN each is answered in place after the restart',
    async () => {
      const dir = botDir();
      const first = await fakes.startBot(dir);
      // Slack's slash commands ask about the channel's latest image: one answered mention gives the channel one.
      const imageTs = '1900000400.000100';
      const files = [slack.addFile(png, { name: 'scene.png' })];
      const text = `<@${slack.botUserId}> what is it?`;
      const where = { team: slack.team, channel: 'C0SLASHED', user: 'U0GRACE' };
      const body = messageEnvelope({ ...where, text, ts: imageTs, files });
      expect((await sendSigned(first.eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
      await until(() => journaledRequests(dir) === 0 && slack.thread('C0SLASHED', imageTs).length === 1, 'the image answered');

      // Discord takes the deferral ("thinking…" shows) and the process dies before hearing back.
      const interaction = discord.interactionPayload({ name: 'help', user: user('hana'), options: [] });
      discord.fail('POST', new RegExp(`^/interactions/\\d+/${interaction.token}/callback$`), 'stall');
      discord.interaction(interaction);
      await discord.waitForRequest((r) => r.path.includes(interaction.token));
      // Slack has the acknowledgement; the placeholder never gets through before the process dies.
      slack.fail('chat.postMessage', 'stall');
      const slash = slashCommandBody({
        command: '/vqa',
        text: 'what colour is it?',
        team: slack.team,
        channel: 'C0SLASHED',
        user: 'U0GRACE',
        responseUrl: slack.responseUrl(),
      });
      expect((await sendSigned(first.eventsUrl, SECRET, slash, 'application/x-www-form-urlencoded')).status).toBe(200);
      const placeholder = () => slack.callsTo('chat.postMessage').some((c) => c.params.text?.includes('/vqa'));
      await slack.waitFor(placeholder, 'the placeholder');
      expect(journaledRequests(dir)).toBe(2);
      await first.bot.kill();
      discord.clearFaults();
      slack.clearFaults();

      const second = await fakes.startBot(dir);
      await until(() => journaledRequests(dir) === 0, 'the journal to empty after the restart', 120_000);
      expect(discord.original(interaction.token)?.content).toContain('/refer');
      const thread = slack.thread('C0SLASHED', imageTs).map((m) => m.text);
      expect(thread).toHaveLength(2);
      expect(thread[1]).toContain('<@U0GRACE> asked `/vqa what colour is it?`');
      expect(thread[1]).not.toContain(SLACK_MESSAGES.working);
      expect(await second.bot.terminate()).toBe(0);
    },
    TEST_TIMEOUT,
  );
});
