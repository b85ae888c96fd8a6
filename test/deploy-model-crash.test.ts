import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { crashThread } from '../bench/soak/thread-crash.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { botFolder, fakesEnv, killBotProcesses, startBotProcess, until } from './helpers/bot-process.ts';
import { drawScene } from './helpers/scene.ts';

/**
 * `npm start` whose model thread crashes again and again: the engine replaces it three times, and the fourth
 * crash in 10 minutes stops it. The process then says so in one line and exits 1, for its supervisor (compose's
 * restart policy) to start it again, instead of living on unhealthy; the questions it held get a reply.
 */

const SECRET = 'signing-secret-for-the-model-crash-test';
const CHANNEL = 'C0MODEL';

describe('GIVEN npm start on the Slack fake', () => {
  let slack: FakeSlack;

  beforeAll(async () => {
    slack = await FakeSlack.start();
  });

  afterAll(async () => {
    await killBotProcesses();
    await slack?.close();
  });

  it('WHEN its model thread crashes a fourth time within 10 minutes THEN it tells the askers, logs one line and exits 1', async () => {
    const dir = botFolder({ slack: { host: '127.0.0.1', apiRetries: 0 } }, 'minigpt-model-crash-');
    // SIGUSR1 opens Node's inspector on a free port: the model thread is crashed through it.
    const env = { ...fakesEnv({ slack, signingSecret: SECRET }), NODE_OPTIONS: '--inspect-port=0' };
    const bot = startBotProcess(dir, env);
    const eventsUrl = await bot.slackEventsUrl();
    const threads = ['1900000500.000100', '1900000501.000100'];
    const settled = (ts: string) => slack.thread(CHANNEL, ts).some((m) => !m.text.includes(MESSAGES.working));
    // One question at a time: each crashes the thread that takes it and the one started in its place (a
    // question outlives one crash, not two), so two questions make the four crashes.
    const ask = async () => {
      for (const ts of threads) {
        const files = [slack.addFile(drawScene(2).png, { name: 'scene.png' })];
        const text = `<@${slack.botUserId}> what is it?`;
        const body = messageEnvelope({ team: slack.team, channel: CHANNEL, user: 'U0ASKER', text, ts, files });
        expect((await sendSigned(eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
        if (ts === threads[0]) await until(() => settled(ts), 'the first question settled', 60_000);
      }
    };
    expect(await crashThread(bot, 'inference', ask, 60_000, 4)).toBe(true);
    expect(await bot.exit(60_000)).toBe(1);
    // The questions' own failures are logged as they happen; the process's end is one line of its own.
    const stopping = bot.logs().filter((line) => String(line.msg).startsWith('model:'));
    expect(stopping.map((line) => [line.level, line.msg])).toEqual([
      [50, 'model: the inference worker crashed: the inference thread crashes now (injected), 4 times in 10 minutes; stopping, to be started again'],
    ]);
    for (const ts of threads) {
      const replies = slack.thread(CHANNEL, ts).map((m) => m.text);
      expect(replies).toHaveLength(1);
      expect(replies[0]).not.toContain(MESSAGES.working);
    }
  }, 180_000);
});
