import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from '../adapters/slack/messages.ts';
import { conversationId } from '../src/bot/conversations.ts';
import { DEFAULT_MODEL_DIR } from '../src/inference/model-dir.ts';
import { conversationKey } from '../adapters/slack/decode.ts';
import { QueueEngine } from '../src/scale/queue-engine.ts';
import { jobIdFor, keys, QUEUE_NAME, type WorkerBeat } from '../src/scale/redis.ts';
import { FakeSlack } from './fakes/slack/server.ts';
import { messageEnvelope, sendSigned } from './fakes/slack/requests.ts';
import { startBotProcess, type BotProcess } from './helpers/bot-process.ts';
import { REDIS_SERVER, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
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

const ready = existsSync(join(DEFAULT_MODEL_DIR, 'model.json')) && existsSync(REDIS_SERVER);

describe.skipIf(!ready)('GIVEN a gateway and two workers on a real Redis', () => {
  let redis: RedisServer;
  let slack: FakeSlack;
  let dir: string;
  let client: Redis;
  let queue: Queue;
  let gateway: BotProcess;
  let eventsUrl: string;
  const workers: BotProcess[] = [];
  const processes: BotProcess[] = [];
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
    const worker = startBotProcess(dir, 'bot.yaml', env(), ['worker']);
    processes.push(worker);
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
    dir = mkdtempSync(join(tmpdir(), 'minigpt-scale-'));
    const config = ['model:', '  threads: 1', 'conversations:', `  idleMinutes: ${IDLE_MINUTES}`, 'slack:', '  host: 127.0.0.1'];
    writeFileSync(join(dir, 'bot.yaml'), [...config, '  apiRetries: 0', 'log:', '  level: info', ''].join('\n'));
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QUEUE_NAME, { connection: client });
    gateway = startBotProcess(dir, 'bot.yaml', env(), ['gateway']);
    processes.push(gateway);
    const started = await gateway.logLine('slack adapter started', 60_000);
    eventsUrl = `http://127.0.0.1:${String(started.port)}/slack/events`;
    await Promise.all([startWorker(), startWorker()]);
  }, TEST_TIMEOUT);

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await queue?.close();
    client?.disconnect();
    await slack?.close();
    await redis?.stop();
  });

  /** Posts a mention with the scene; returns its ts (the thread) and the job id its Slack message maps to. */
  async function mention(text: string, options: { eventId?: string; ts?: string } = {}) {
    const ts = options.ts ?? `${nextTs++}.000100`;
    const file = slack.addFile(png, { name: 'scene.png' });
    const body = messageEnvelope({
      team: slack.team,
      channel: CHANNEL,
      user: 'U0DANA',
      text: `<@${slack.botUserId}> ${text}`,
      ts,
      files: [file],
      ...(options.eventId ? { eventId: options.eventId } : {}),
    });
    expect((await sendSigned(eventsUrl, SECRET, body, 'application/json')).status).toBe(200);
    return { ts, jobId: jobIdFor(`slack-${slack.team}-${CHANNEL}-${ts}`) };
  }

  const isFinal = (text: string): boolean => !text.includes(MESSAGES.working) && !text.endsWith(MESSAGES.streamingMark);

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

  it('WHEN Slack redelivers the event, and another gateway enqueues the same event THEN nothing new is queued and the thread has one answer', async () => {
    const eventId = 'Ev0SCALEDUP';
    const { ts, jobId } = await mention('[vqa] what colour is the shape?', { eventId });
    expect(await answers(ts)).toHaveLength(1);
    const before = await queue.getJobCounts('completed', 'waiting', 'active');
    await mention('[vqa] what colour is the shape?', { eventId, ts });
    // A second gateway (this test process) asking for the same Slack message joins the finished job.
    const other = await QueueEngine.open({ url: redis.url, imageTtlSeconds: 60 });
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
  }, TEST_TIMEOUT);

  it('WHEN the worker holding a question is SIGKILLed mid-answer THEN the other worker answers it and the thread gets exactly one answer', async () => {
    const { ts, jobId } = await mention('[detection] every shape');
    let victim: BotProcess | undefined;
    for (let polls = 0; polls < 2000 && !victim; polls++) {
      const job = await queue.getJob(jobId);
      victim = job?.processedBy && !job.finishedOn ? workerOf(job.processedBy) : undefined;
      if (job?.finishedOn) break;
      if (!victim) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(victim, 'the job was answered before a worker could be killed while holding it').toBeDefined();
    victim!.child.kill('SIGKILL');
    const posted = await answers(ts, 120_000);
    expect(posted).toHaveLength(1);
    const job = await queue.getJob(jobId);
    expect(job?.finishedOn).toBeDefined();
    expect(workerOf(job!.processedBy ?? '')).not.toBe(victim);
    expect(job!.attemptsStarted).toBeGreaterThanOrEqual(2);
    workers.splice(workers.indexOf(victim!), 1);
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
    await startWorker();
    expect(await answers(ts, 120_000)).toHaveLength(1);
    const conversation = keys.conversation(conversationId(conversationKey(slack.team, CHANNEL, ts)));
    expect(await client.ttl(conversation)).toBeGreaterThan(0);
    const live = (await client.mget(...(await client.keys(keys.workerPattern)))).map((t) => JSON.parse(t!) as WorkerBeat);
    expect(live.reduce((sum, w) => sum + w.completed, 0)).toBeGreaterThanOrEqual(1);
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
