import Database from 'better-sqlite3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MESSAGES as SLACK_MESSAGES } from '../../adapters/slack/messages.ts';
import { MINI_MODEL_DIR } from '../../src/inference/model-dir.ts';
import { FakeDiscord, user, type FakeChannel } from '../../test/fakes/discord/index.ts';
import { messageEnvelope, sendSigned } from '../../test/fakes/slack/requests.ts';
import { FakeSlack } from '../../test/fakes/slack/server.ts';
import { hostileImages, hostilePrompts, type HostileImage } from './corpus.ts';
import { Fleet } from './fleet.ts';
import { classify, type Outcome, percentile } from './outcome.ts';
import { startupFaults } from './startup.ts';

const USAGE = `usage: npm run soak -- [--channels N] [--rounds N] [--json]
  --channels N  channels per platform sending at once (default 3)
  --rounds N    rounds of one request per channel and platform (default 4; at least 3: the first ends with a
                SIGKILL and a restart, the second with a SIGTERM and a restart)
  --json        one JSON object instead of the table`;

const SECRET = 'soak-signing-secret';
/** How long the run waits, after the last request, for every one to reach its final state. */
const SETTLE_MS = 180_000;

interface Sent {
  platform: 'discord' | 'slack';
  /** Discord: the asking message's id; Slack: the thread (the asking message's ts). */
  id: string;
  channel: string;
  sentAt: number;
  /** The replies as last seen, and when they last changed. */
  seen: string;
  changedAt: number;
}

const { values: flags } = parseArgs({
  options: {
    channels: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const CHANNELS = Math.max(1, Number(flags.channels));
const ROUNDS = Math.max(3, Number(flags.rounds));

function config(dir: string): void {
  writeFileSync(
    join(dir, 'bot.yaml'),
    [
      'model:',
      `  dir: ${MINI_MODEL_DIR}`,
      '  threads: 1',
      'generation:',
      '  maxNewTokens: 16',
      'limits:',
      '  maxQueue: 200',
      '  perUser: { requests: 1000 }',
      'state:',
      '  file: state/bot.sqlite',
      'slack:',
      '  host: 127.0.0.1',
      '  apiRetries: 1',
      '',
    ].join('\n'),
  );
}

/** The platforms misbehave as they do in production: 5xx, dropped connections, `ok:false` and rate limits. */
function injectFaults(discord: FakeDiscord, slack: FakeSlack): void {
  discord.fail('PATCH', /^\/channels\/\d+\/messages\/\d+$/, { status: 500 }, 6);
  discord.fail('POST', /^\/channels\/\d+\/messages$/, 'reset', 2);
  discord.fail('PATCH', /\/messages\/@original$/, { status: 503 }, 3);
  slack.limit('chat.update', 50, 60_000);
  slack.fail('chat.postMessage', { status: 500 }, 3);
  slack.fail('chat.update', 'reset', 2);
  slack.fail('chat.update', { error: 'message_not_found' }, 3);
}

async function main(): Promise<void> {
  const images = await hostileImages();
  const prompts = hostilePrompts();
  const discord = await FakeDiscord.start();
  const slack = await FakeSlack.start();
  const dir = mkdtempSync(join(tmpdir(), 'minigpt-soak-'));
  config(dir);
  const env = {
    DISCORD_TOKEN: discord.token,
    DISCORD_API_URL: discord.apiUrl,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_PORT: '0',
    METRICS_PORT: '0',
    MINIGPT_STATE_FILE: undefined,
  };
  const startup = await startupFaults(env);

  injectFaults(discord, slack);
  const fleet = new Fleet(dir, env);
  const began = Date.now();
  let eventsUrl = await fleet.start();
  const sent: Sent[] = [];
  const discordChannels: FakeChannel[] = [discord.channel, discord.quiet, discord.thread];
  let n = 0;

  const send = async (channelIndex: number): Promise<void> => {
    const image: HostileImage = images[n % images.length]!;
    const prompt = prompts[n % prompts.length]!;
    n += 1;
    const channel = discordChannels[channelIndex % discordChannels.length]!;
    const asked = discord.userMessage({
      channel,
      author: user(`soak${n}`),
      content: `<@${discord.botUser.id}> ${prompt}`,
      mentions: [discord.botUser],
      attachments: [discord.attachment(image.bytes, image.name, image.contentType)],
    });
    const now = Date.now();
    sent.push({ platform: 'discord', id: asked.id, channel: channel.id, sentAt: now, seen: '', changedAt: now });
    const slackChannel = `C0SOAK${channelIndex}`;
    const ts = `${1_900_000_000 + n}.000100`;
    // Every fourth Slack image downloads slowly, as from a busy file server.
    const file = slack.addFile(image.bytes, { name: image.name, mimetype: image.contentType, stallMs: n % 4 === 0 ? 3000 : 0 });
    const body = messageEnvelope({ team: slack.team, channel: slackChannel, user: `U0SOAK${n}`, text: `<@${slack.botUserId}> ${prompt}`, ts, files: [file] });
    const response = await sendSigned(eventsUrl, SECRET, body, 'application/json');
    if (response.status === 200) sent.push({ platform: 'slack', id: ts, channel: slackChannel, sentAt: Date.now(), seen: '', changedAt: Date.now() });
  };

  const repliesTo = (s: Sent): string[] =>
    s.platform === 'discord'
      ? [...discord.messages.values()].filter((m) => m.message_reference?.message_id === s.id).map((m) => m.content)
      : slack.thread(s.channel, s.id).map((m) => m.text);
  const watch = (): void => {
    for (const s of sent) {
      const seen = JSON.stringify(repliesTo(s));
      if (seen !== s.seen) Object.assign(s, { seen, changedAt: Date.now() });
    }
  };
  const watcher = setInterval(watch, 100);

  for (let round = 0; round < ROUNDS; round++) {
    for (let c = 0; c < CHANNELS; c++) await send(c);
    await sleep(1500);
    if (round === 0) {
      await fleet.kill();
      eventsUrl = await fleet.start();
    } else if (round === 1) {
      await fleet.terminate();
      eventsUrl = await fleet.start();
    }
  }

  const outcomeOf = (s: Sent) => classify(repliesTo(s), s.platform === 'slack' ? SLACK_MESSAGES.streamingMark : undefined);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline && (journaled(dir) > 0 || sent.some((s) => outcomeOf(s).outcome === 'lost'))) await sleep(500);
  await sleep(2000); // edits still in flight land
  watch();
  clearInterval(watcher);
  const rssAfter = fleet.rssNowMiB();
  await fleet.terminate();
  fleet.close();
  const minutes = (Date.now() - began) / 60_000;
  const platformCalls = discord.requests.length + slack.calls.length;
  await discord.close();
  await slack.close();

  const counts: Record<Outcome, number> = { answered: 0, told: 0, lost: 0 };
  let duplicates = 0;
  const latencies: number[] = [];
  for (const s of sent) {
    const { outcome, duplicates: extra } = outcomeOf(s);
    counts[outcome] += 1;
    duplicates += extra;
    if (outcome !== 'lost') latencies.push(s.changedAt - s.sentAt);
  }
  latencies.sort((a, b) => a - b);
  const result = {
    sent: sent.length,
    answered: counts.answered,
    told_of_failure: counts.told,
    lost: counts.lost,
    crashes: fleet.crashes + startup.filter((c) => !c.clean).length,
    duplicates,
    journal_left: journaled(dir),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    peak_rss_mib: Math.round(fleet.peakRssMiB),
    rss_after_mib: Math.round(rssAfter),
    platform_calls_per_minute: Math.round(platformCalls / minutes),
    slack_rate_limited: slack.rateLimited.length,
    minutes: Number(minutes.toFixed(1)),
    startup_faults: startup,
    crash_logs: fleet.crashLogs,
  };
  if (flags.json) console.log(JSON.stringify(result));
  else printTable(result);
  process.exitCode = result.lost === 0 && result.crashes === 0 && result.duplicates === 0 ? 0 : 1;
}

/** Requests still in the journal of the state file (read as another process would). */
function journaled(dir: string): number {
  try {
    const db = new Database(join(dir, 'state/bot.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM pending').get()!.n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

function printTable(r: Record<string, unknown> & { startup_faults: { name: string; clean: boolean; detail: string }[]; crash_logs: string[] }): void {
  const rows: [string, unknown][] = [
    ['requests sent', r.sent],
    ['answered', r.answered],
    ['told of failure', r.told_of_failure],
    ['lost (must be 0)', r.lost],
    ['crashes (must be 0)', r.crashes],
    ['duplicate answers (must be 0)', r.duplicates],
    ['left in the journal', r.journal_left],
    ['latency p50 / p99', `${String(r.p50_ms)} ms / ${String(r.p99_ms)} ms`],
    ['RSS peak / after the run', `${String(r.peak_rss_mib)} MiB / ${String(r.rss_after_mib)} MiB`],
    ['platform calls per minute', r.platform_calls_per_minute],
    ['Slack calls answered 429', r.slack_rate_limited],
    ['run time', `${String(r.minutes)} min`],
    ...r.startup_faults.map((c): [string, unknown] => [`start-up: ${c.name}`, `${c.clean ? 'one line, exit 1' : 'NOT CLEAN'}: ${c.detail}`]),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${String(value)}`);
  for (const log of r.crash_logs) console.log(`crash: ${log}`);
}

await main();
