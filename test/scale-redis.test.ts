import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { conversationId } from '../src/bot/conversations.ts';
import { message } from '../src/bot/messages.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { conversationKey } from '../adapters/slack/decode.ts';
import { QueueEngine } from '../src/scale/queue-engine.ts';
import { jobIdFor, type JobTimes, keys, QUEUE_NAME, workerQueue } from '../src/scale/redis.ts';
import { FakeDiscord, user, type RecordedRequest } from './fakes/discord/index.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import {
  botFolder,
  CONFIG_FILE,
  fakesEnv,
  killBotProcesses,
  runBotProcess,
  startBotProcess,
  type BotConfig,
  type BotProcess,
} from './helpers/bot-process.ts';
import { REDIS_SERVER, startRedisServer, type RedisServer } from '../bench/redis-server.ts';
import { drawScene } from './helpers/scene.ts';

/**
 * The scaled deployment on the real things: redis-server on a loopback port, BullMQ, a `minigpt-bot gateway`
 * on the Slack fake and `minigpt-bot worker` processes running the default model. Killed workers, redelivered
 * events and a Redis restart must each still end in exactly one answer per question.
 */

const SECRET = 'signing-secret-for-the-scale-test';
const CHANNEL = 'C0SCALE';
const TEST_TIMEOUT = 180_000;
const IDLE_MINUTES = 30;

/** The config every process here reads: the default model, one thread each (bot-process.ts's default). */
const CONFIG: BotConfig = {
  model: { dir: DEFAULT_MODEL_DIR },
  conversations: { idleMinutes: IDLE_MINUTES },
  slack: { host: '127.0.0.1', apiRetries: 0 },
  log: { level: 'info' },
};

const ready = existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) && existsSync(REDIS_SERVER);

describe.skipIf(!ready)('GIVEN a gateway and two workers on a real Redis', () => {
  let redis: RedisServer;
  let slack: FakeSlack;
  let dir: string;
  let client: Redis;
  let queue: Queue;
  let gateway: BotProcess;
  let eventsUrl: string;
  let healthUrl: string;
  const workers: BotProcess[] = [];
  const png = drawScene(5).png;
  let nextTs = 1900000200;

  function env(): NodeJS.ProcessEnv {
    return {
      REDIS_URL: redis.url,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_PORT: '0',
      METRICS_PORT: '0',
    };
  }

  async function startWorker(): Promise<BotProcess> {
    const worker = startBotProcess(dir, env(), { command: 'worker' });
    workers.push(worker);
    await worker.logLine('worker: taking jobs', 90_000);
    return worker;
  }

  function workerOf(id: string): BotProcess | undefined {
    return workers.find((w) => `${hostname()}-${w.child.pid}` === id);
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    slack = await FakeSlack.start();
    dir = botFolder(CONFIG, 'minigpt-scale-');
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUE_NAME, { connection: client });
    gateway = startBotProcess(dir, env(), { command: 'gateway' });
    eventsUrl = await gateway.slackEventsUrl();
    healthUrl = String((await gateway.logLine('health and metrics listening')).url);
    await Promise.all([startWorker(), startWorker()]);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    await killBotProcesses();
    await queue?.close();
    client?.disconnect();
    await slack?.close();
    await redis?.stop();
  });

  /** Posts a mention with the scene; returns its ts (the thread) and the job id its Slack message maps to. */
  async function mention(text: string, options: { eventId?: string; ts?: string; inThread?: string; url?: string } = {}) {
    const ts = options.ts ?? `${nextTs++}.000100`;
    const body = messageEnvelope({
      team: slack.team,
      channel: CHANNEL,
      user: 'U0DANA',
      text: `<@${slack.botUserId}> ${text}`,
      ts,
      ...(options.inThread ? { threadTs: options.inThread } : { files: [slack.addFile(png, { name: 'scene.png' })] }),
      ...(options.eventId ? { eventId: options.eventId } : {}),
    });
    expect((await sendSigned(options.url ?? eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
    return { ts, jobId: jobIdFor(`slack-${slack.team}-${CHANNEL}-${ts}`) };
  }

  /** Neither the placeholder, a queue place nor text still streaming. */
  const isFinal = (text: string): boolean =>
    !text.includes(MESSAGES.working) && !text.endsWith(MESSAGES.streamingMark) && !/^:hourglass: Waiting/.test(text);

  /** The bot's settled answers in a thread, once at least one is there. */
  async function answers(ts: string, timeoutMs = 90_000): Promise<string[]> {
    await slack.waitFor(() => slack.thread(CHANNEL, ts).some((m) => isFinal(m.text)), 'the answer', timeoutMs);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a second, wrong answer to show up
    return slack.thread(CHANNEL, ts).filter((m) => isFinal(m.text)).map((m) => m.text);
  }

  it('WHEN a mention arrives THEN a worker answers it once, the job id comes from the Slack message and the conversation sits in Redis with the idle expiry', async () => {
    const { ts, jobId } = await mention('[caption] what is in the picture?');
    const posted = await answers(ts);
    expect(posted).toHaveLength(1);
    const job = await queue.getJob(jobId);
    expect(job?.returnvalue).toBeDefined();
    expect(workerOf(job!.processedBy ?? '')).toBeDefined();
    const conversation = keys.conversation(conversationId(conversationKey(slack.team, CHANNEL, ts)));
    const ttl = await client.ttl(conversation);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(IDLE_MINUTES * 60);
  }, TEST_TIMEOUT);

  it('WHEN a follow-up comes without an image THEN the worker that cached the conversation answers it without running the vision model', async () => {
    const first = await mention('[caption] what is in the picture?');
    expect(await answers(first.ts)).toHaveLength(1);
    const owner = (await queue.getJob(first.jobId))?.processedBy;
    const ownQueue = new Queue(workerQueue(owner!), { connection: client });
    for (const question of ['[vqa] what colour is it?', '[vqa] and its shape?']) {
      const before = slack.thread(CHANNEL, first.ts).filter((m) => isFinal(m.text)).length;
      const followUp = await mention(question, { inThread: first.ts });
      await slack.waitFor(
        () => slack.thread(CHANNEL, first.ts).filter((m) => isFinal(m.text)).length > before,
        'the follow-up answer',
        90_000,
      );
      const job = await Job.fromId(ownQueue, followUp.jobId);
      expect(job?.processedBy).toBe(owner);
      expect(job?.returnvalue.result.visionCached).toBe(true);
    }
    await ownQueue.close();
  }, TEST_TIMEOUT);

  it('WHEN a gateway runs the Discord adapter THEN a mention is answered once and its follow-up goes to the worker that cached the conversation', async () => {
    expect(workers).toHaveLength(2);
    const discord = await FakeDiscord.start();
    // A gateway of its own, in a folder of its own (its state file apart from the Slack gateway's).
    const onDiscord = startBotProcess(
      botFolder(CONFIG, 'minigpt-scale-discord-'),
      { REDIS_URL: redis.url, ...fakesEnv({ discord }) },
      { command: 'gateway' },
    );
    try {
      await onDiscord.logLine('discord: connected', 60_000);
      const dana = user('dana');
      /** Mentions the bot (with the scene when `image`); resolves with the one reply, once final, and the job id. */
      const ask = async (question: string, image: boolean) => {
        const since = Date.now();
        const asked = discord.userMessage({
          channel: discord.channel,
          author: dana,
          content: `<@${discord.botUser.id}> ${question}`,
          mentions: [discord.botUser],
          attachments: image ? [discord.attachment(png, 'scene.png', 'image/png')] : [],
        });
        const repliesTo = () => [...discord.messages.values()].filter((m) => m.message_reference?.message_id === asked.id);
        // The final reply is the one that sets the message's attachments (streamed edits leave them alone).
        const final = (r: RecordedRequest): boolean => r.body?.attachments !== undefined
          && (r.body?.message_reference?.message_id === asked.id || repliesTo().some((m) => r.path.endsWith(`/${m.id}`)));
        await discord.waitForRequest(final, since, 90_000);
        await new Promise((resolve) => setTimeout(resolve, 1500)); // room for a second, wrong answer to show up
        return { replies: repliesTo(), jobId: jobIdFor(`discord-message-${asked.id}`) };
      };
      const first = await ask('[caption] what is in the picture?', true);
      expect(first.replies).toHaveLength(1);
      expect(first.replies[0]!.content).not.toMatch(/^Waiting in the queue|^…$/);
      const owner = (await queue.getJob(first.jobId))?.processedBy;
      expect(workerOf(owner ?? '')).toBeDefined();

      const followUp = await ask('[vqa] what colour is it?', false);
      expect(followUp.replies).toHaveLength(1);
      expect(followUp.replies[0]!.content).not.toMatch(/^Waiting in the queue|^…$/);
      const ownQueue = new Queue(workerQueue(owner!), { connection: client });
      const job = await Job.fromId(ownQueue, followUp.jobId);
      await ownQueue.close();
      expect(job?.processedBy).toBe(owner);
      expect(job?.returnvalue.result.visionCached).toBe(true); // the vision model ran 0 times for it
    } finally {
      await onDiscord.terminate();
      await discord.close();
    }
  }, TEST_TIMEOUT);

  it('WHEN 16 new conversations arrive at once THEN the two workers take 8 each, not one of them all', async () => {
    expect(workers).toHaveLength(2);
    const answeredBy = new Map<string, number>();
    const onAnswered = (times: JobTimes) => answeredBy.set(times.worker, (answeredBy.get(times.worker) ?? 0) + 1);
    const engine = await QueueEngine.open({ url: redis.url, imageTtlSeconds: 60, maxQueue: 100, onAnswered });
    // Long enough answers that every question is taken before the first is done.
    const generation = { maxNewTokens: 48, minLength: 48 };
    try {
      // Each worker reads the others' heartbeats every 2 s: both have seen each other long before this test.
      const asks = Array.from({ length: 16 }, (_, k) =>
        engine.generate({ conversation: `burst-${k}`, image: png, history: [], task: 'vqa', question: 'what is it?', generation }),
      );
      await Promise.all(asks);
    } finally {
      await engine.close();
    }
    expect([...answeredBy.values()]).toEqual([8, 8]);
  }, TEST_TIMEOUT);

  it('WHEN an operator looks THEN /healthz reports Redis and live workers, /metrics counts jobs by worker and cache use, and status lists the workers', async () => {
    const health = await fetch(`${healthUrl}/healthz`);
    expect(health.status).toBe(200);
    const checks = ((await health.json()) as { checks: { name: string; ok: boolean }[] }).checks;
    expect(checks).toEqual(expect.arrayContaining([{ name: 'redis', ok: true }, { name: 'workers', ok: true }]));
    const metrics = await (await fetch(`${healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/^minigpt_jobs_total\{worker="[^"]+",vision="cached"\} [1-9]/m);
    expect(metrics).toMatch(/^minigpt_job_wait_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^minigpt_workers_live 2$/m);
    const status = await runBotProcess(dir, env(), { command: 'status', args: ['--json', '--config', CONFIG_FILE] });
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { workers: { id: string }[]; counts: Record<string, number> };
    expect(shown.workers.map((w) => w.id).sort()).toEqual(workers.map((w) => `${hostname()}-${w.child.pid}`).sort());
    expect(shown.counts.completed).toBeGreaterThanOrEqual(4); // two first questions, two follow-ups
  }, TEST_TIMEOUT);

  it('WHEN a worker is pointed at a Redis that does not answer THEN it says so in one line and exits 1', async () => {
    const unreachable = { ...env(), REDIS_URL: 'redis://127.0.0.1:1' }; // nothing listens on port 1
    const failed = await runBotProcess(dir, unreachable, { command: 'worker' }, 60_000);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toBe(
      'minigpt-bot worker: queue.url: cannot reach Redis at redis://127.0.0.1:1 (no answer within 5 s); set REDIS_URL',
    );
  }, TEST_TIMEOUT);

  it('WHEN the workers are restarted one by one while questions are answered THEN every question gets exactly one answer', async () => {
    const asked = [];
    for (let k = 0; k < 6; k++) asked.push(await mention(`[caption] picture number ${k}`));
    for (const old of workers.splice(0)) {
      await old.terminate();
      await startWorker();
    }
    for (const { ts } of asked) expect(await answers(ts, 120_000)).toHaveLength(1);
  }, TEST_TIMEOUT);

  it('WHEN Slack redelivers the event, to this gateway or to a second one, THEN nothing new is queued, the thread has one answer and goes on through either gateway', async () => {
    const eventId = 'Ev0SCALEDUP';
    const { ts, jobId } = await mention('[vqa] what colour is the shape?', { eventId });
    expect(await answers(ts)).toHaveLength(1);
    const before = await queue.getJobCounts('completed', 'waiting', 'active');
    await mention('[vqa] what colour is the shape?', { eventId, ts });
    const second = startBotProcess(dir, env(), { command: 'gateway' });
    const secondUrl = await second.slackEventsUrl();
    await mention('[vqa] what colour is the shape?', { eventId, ts, url: secondUrl });
    // A second gateway (this test process) asking for the same Slack message joins the finished job.
    const other = await QueueEngine.open({ url: redis.url, imageTtlSeconds: 60, maxQueue: 20 });
    try {
      const again = await other.generate({
        conversation: 'elsewhere',
        image: png,
        history: [],
        task: 'vqa',
        question: 'what colour is the shape?',
        requestId: `slack-${slack.team}-${CHANNEL}-${ts}`,
      });
      expect(again.raw).toBe((await queue.getJob(jobId))?.returnvalue.result.raw);
    } finally {
      await other.close();
    }
    expect(await queue.getJobCounts('completed', 'waiting', 'active')).toEqual(before);
    expect(await answers(ts)).toHaveLength(1);
    expect(slack.thread(CHANNEL, ts)).toHaveLength(1); // not even a "looking at the image" placeholder

    // The thread goes on through the second gateway: it knows the conversation and its image.
    const followUp = await mention('[vqa] and its shape?', { inThread: ts, url: secondUrl });
    await slack.waitFor(() => slack.thread(CHANNEL, ts).filter((m) => isFinal(m.text)).length >= 2, 'the follow-up', 90_000);
    expect(slack.thread(CHANNEL, ts).map((m) => m.text)).not.toContain(MESSAGES.noImageForMention);
    const owner = (await queue.getJob(jobId))!.processedBy!;
    const ownQueue = new Queue(workerQueue(owner), { connection: client });
    expect((await ownQueue.getJob(followUp.jobId))?.returnvalue.result.visionCached).toBe(true);
    // Back on the first gateway, the turn the second one recorded is part of the history.
    const third = await mention('[vqa] how big is it?', { inThread: ts });
    await slack.waitFor(() => slack.thread(CHANNEL, ts).filter((m) => isFinal(m.text)).length >= 3, 'the third answer', 90_000);
    const asked = await ownQueue.getJob(third.jobId);
    expect(asked?.data.history.map((t: { question: string }) => t.question)).toEqual(['what colour is the shape?', 'and its shape?']);
    await ownQueue.close();
    await second.terminate();
  }, TEST_TIMEOUT);

  /** SIGKILLs the worker holding the job as soon as it takes it (polled every 5 ms, at most ~10 s). */
  async function killWhileHolding(source: Queue, jobId: string): Promise<BotProcess> {
    for (let polls = 0; polls < 2000; polls++) {
      const job = await source.getJob(jobId);
      if (job?.finishedOn) break;
      const holder = job?.processedBy ? workerOf(job.processedBy) : undefined;
      if (holder) {
        holder.child.kill('SIGKILL');
        workers.splice(workers.indexOf(holder), 1);
        return holder;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`job ${jobId} was answered before a worker could be killed while holding it`);
  }

  it('WHEN the worker holding a question is SIGKILLed mid-answer THEN the other worker answers it and the thread gets exactly one answer', async () => {
    const { ts, jobId } = await mention('[detection] every shape');
    const victim = await killWhileHolding(queue, jobId);
    expect(await answers(ts, 120_000)).toHaveLength(1);
    const job = await queue.getJob(jobId);
    expect(workerOf(job!.processedBy ?? '')).toBeDefined();
    expect(workerOf(job!.processedBy ?? '')).not.toBe(victim);
    expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    await startWorker();
  }, TEST_TIMEOUT);

  it('WHEN the worker caching a conversation is SIGKILLed during a follow-up THEN another worker takes over its queue and the follow-up gets exactly one answer', async () => {
    const first = await mention('[caption] what is in the picture?');
    expect(await answers(first.ts)).toHaveLength(1);
    const owner = (await queue.getJob(first.jobId))!.processedBy!;
    const ownQueue = new Queue(workerQueue(owner), { connection: client });
    const followUp = await mention('[vqa] what colour is it?', { inThread: first.ts });
    const victim = await killWhileHolding(ownQueue, followUp.jobId);
    expect(`${hostname()}-${victim.child.pid}`).toBe(owner);
    await slack.waitFor(() => slack.thread(CHANNEL, first.ts).filter((m) => isFinal(m.text)).length >= 2, 'the follow-up', 120_000);
    expect(await answers(first.ts)).toHaveLength(2);
    const job = await ownQueue.getJob(followUp.jobId);
    expect(workerOf(job!.processedBy ?? '')).toBeDefined();
    expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    await ownQueue.close();
    await startWorker();
  }, TEST_TIMEOUT);

  it('WHEN Redis restarts while a question waits with no worker up THEN the question is answered once a worker returns and the conversation is kept', async () => {
    const stopped = workers.splice(0);
    await Promise.all(stopped.map((w) => w.terminate()));
    await poll(async () => (await client.keys(keys.workerPattern)).length === 0, 'the killed worker\'s heartbeat to expire');
    const { ts, jobId } = await mention('[caption] describe it');
    await waitForState(jobId, 'waiting');
    await redis.restart();
    expect(await queue.getJobState(jobId)).toBe('waiting');
    const returned = await startWorker();
    expect(await answers(ts, 120_000)).toHaveLength(1);
    expect((await queue.getJob(jobId))?.processedBy).toBe(`${hostname()}-${returned.child.pid}`);
    const conversation = keys.conversation(conversationId(conversationKey(slack.team, CHANNEL, ts)));
    expect(await client.ttl(conversation)).toBeGreaterThan(0);
  }, TEST_TIMEOUT);

  it('WHEN questions wait for a worker THEN each is told its place in the real queue, then answered once', async () => {
    const stopped = workers.splice(0);
    await Promise.all(stopped.map((w) => w.terminate()));
    await poll(async () => (await client.keys(keys.workerPattern)).length === 0, "the workers' heartbeats to expire");
    const first = await mention('[vqa] first in line?');
    await waitForState(first.jobId, 'waiting');
    const second = await mention('[vqa] second in line?');
    await waitForState(second.jobId, 'waiting');
    const shows = (ts: string, text: string) => slack.thread(CHANNEL, ts).some((m) => m.text === text);
    await slack.waitFor(() => shows(first.ts, MESSAGES.queued(1)), 'the first place');
    await slack.waitFor(() => shows(second.ts, MESSAGES.queued(2)), 'the second place');
    await startWorker();
    expect(await answers(first.ts, 120_000)).toHaveLength(1);
    expect(await answers(second.ts, 120_000)).toHaveLength(1);
  }, TEST_TIMEOUT);

  it('WHEN the gateway is SIGKILLed while a question waits THEN the restarted gateway posts its one answer in place of the placeholder', async () => {
    const stopped = workers.splice(0);
    await Promise.all(stopped.map((w) => w.terminate()));
    await poll(async () => (await client.keys(keys.workerPattern)).length === 0, "the workers' heartbeats to expire");
    const { ts, jobId } = await mention('[caption] describe it again');
    await waitForState(jobId, 'waiting');
    // The placeholder, already telling its queue place (no worker is up).
    await slack.waitFor(() => slack.thread(CHANNEL, ts).some((m) => m.text === MESSAGES.queued(1)), 'the placeholder');
    await gateway.kill();
    await startWorker();
    await waitForState(jobId, 'completed');
    gateway = startBotProcess(dir, env(), { command: 'gateway' });
    eventsUrl = await gateway.slackEventsUrl();
    expect(await answers(ts, 120_000)).toHaveLength(1);
    expect(slack.thread(CHANNEL, ts)).toHaveLength(1); // the placeholder, edited into the answer
    expect(slack.thread(CHANNEL, ts)[0]!.text).not.toMatch(/lost|ask again/i);
    expect((await queue.getJob(jobId))?.attemptsStarted).toBe(1);
  }, TEST_TIMEOUT);

  it('WHEN limits.maxQueue questions already wait in the real queue THEN the gateway refuses the next one as the in-process queue does, and the waiting one is answered once', async () => {
    // A gateway that lets one question wait, with a state file of its own.
    const full = startBotProcess(botFolder({ ...CONFIG, limits: { maxQueue: 1 } }, 'minigpt-scale-full-'), env(), {
      command: 'gateway',
    });
    const url = `http://127.0.0.1:${String((await full.logLine('slack adapter started', 60_000)).port)}/slack/events`;
    // The workers up are held (SIGSTOP): they take nothing, so what is added waits.
    const hold = (signal: NodeJS.Signals): void => {
      for (const w of workers) w.child.kill(signal);
    };
    hold('SIGSTOP');
    try {
      const first = await mention('[caption] the one that waits', { url });
      await waitForState(first.jobId, 'waiting');
      const refused = await mention('[caption] one too many', { url });
      const refusal = message('queue-full', { waiting: 1 });
      await slack.waitFor(() => slack.thread(CHANNEL, refused.ts).some((m) => m.text.includes(refusal)), 'the refusal');
      expect(await queue.getJob(refused.jobId)).toBeUndefined();
      expect(await queue.getWaitingCount()).toBe(1);
      hold('SIGCONT');
      expect(await answers(first.ts, 120_000)).toHaveLength(1);
      expect(slack.thread(CHANNEL, refused.ts)).toHaveLength(1); // the refusal alone: nothing was asked
      // With the queue empty again, the same gateway takes a new question.
      const later = await mention('[caption] asked again', { url });
      expect(await answers(later.ts, 120_000)).toHaveLength(1);
      expect(slack.thread(CHANNEL, later.ts)[0]!.text).not.toContain(refusal);
    } finally {
      hold('SIGCONT');
      await full.terminate();
    }
  }, TEST_TIMEOUT);

  async function waitForState(jobId: string, state: string): Promise<void> {
    await poll(async () => (await queue.getJobState(jobId)) === state, `job ${jobId} to be ${state}`);
  }

  /** Polls an async check every 50 ms, at most `timeoutMs`. */
  async function poll(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
});
