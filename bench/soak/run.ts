import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FakeDiscord } from '../../test/fakes/discord/index.ts';
import { FakeSlack } from '../../test/fakes/slack/server.ts';
import { botFolder, fakesEnv, journaledRequests as journaled, writeBotConfig } from '../../test/helpers/bot-process.ts';
import { hostileImages, hostilePrompts } from './corpus.ts';
import { Fleet } from './fleet.ts';
import { smallDisk } from './full-disk.ts';
import { percentile } from './outcome.ts';
import { startupFaults } from './startup.ts';
import { SECRET, Traffic } from './traffic.ts';

const USAGE = `usage: npm run soak -- [--channels N] [--rounds N] [--json]
  --channels N  channels per platform sending at once (default 3)
  --rounds N    rounds of one request per channel and platform (default 10; at least 5: the first ends with a
                SIGKILL and a restart, the second with a SIGTERM and a restart, the third crashes the drawing
                thread mid-job and the fifth the model's thread mid-answer)
  --json        one JSON object instead of the table`;

/** How long the run waits, after the last request, for every one to reach its final state. */
const SETTLE_MS = Number(process.env.SOAK_SETTLE_MS ?? 180_000);

const { values: flags } = parseArgs({
  options: {
    channels: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const CHANNELS = Math.max(1, Number(flags.channels));
const ROUNDS = Math.max(5, Number(flags.rounds));

/** Each soak folder's bot.yaml: a queue and per-user limit no burst reaches, one retry of a failed Slack call. */
const CONFIG = {
  generation: { maxNewTokens: 16 },
  limits: { maxQueue: 200, perUser: { requests: 1000 } },
  state: { file: 'state/bot.sqlite' },
  slack: { host: '127.0.0.1', apiRetries: 1 },
};

/** The platforms misbehave as they do in production: 5xx, dropped connections, `ok:false` and rate limits. */
function injectFaults(discord: FakeDiscord, slack: FakeSlack): void {
  discord.fail('PATCH', /^\/channels\/\d+\/messages\/\d+$/, { status: 429, retryAfter: 1.5 }, 4);
  discord.fail('POST', /^\/channels\/\d+\/messages$/, { status: 429, retryAfter: 1 }, 2);
  discord.fail('PATCH', /\/messages\/@original$/, { status: 429, retryAfter: 0.5 }, 2);
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
  const dir = botFolder(CONFIG, 'minigpt-soak-');
  const env = {
    ...fakesEnv({ discord, slack, signingSecret: SECRET }),
    // SIGUSR1 opens Node's inspector on a free port (the drawing and model threads are crashed through it).
    NODE_OPTIONS: '--inspect-port=0',
  };
  const startup = await startupFaults(env);

  injectFaults(discord, slack);
  const began = Date.now();
  const traffic = new Traffic(discord, slack, images, prompts);
  const fleet = new Fleet(dir, env, join(dir, 'bot-stderr.log'));
  let eventsUrl = await fleet.start();
  const crashed = { drawing: Promise.resolve(false), inference: Promise.resolve(false) };
  for (let round = 0; round < ROUNDS; round++) {
    const send = async (ask?: Parameters<Traffic['send']>[2]) => {
      for (let c = 0; c < CHANNELS; c++) await traffic.send(c, eventsUrl, ask);
    };
    if (round === 2) {
      // The drawing thread crashes while it draws one of these answers (each draws the box it names).
      const drawing = { image: images[0]!, prompt: '/identify 10,10,60,60' };
      crashed.drawing = fleet.crashThread('drawing', () => send(drawing), SETTLE_MS);
    }
    if (round === 4) {
      // The model's thread crashes with this round's questions in progress (one inspector session at a time).
      await crashed.drawing;
      crashed.inference = fleet.crashThread('inference', () => send(), SETTLE_MS);
      await crashed.inference;
    } else {
      await send();
    }
    // Stopped while the round's requests are being downloaded, queued and answered.
    await sleep(round < 2 ? 400 : 1500);
    if (round === 0) {
      await fleet.kill();
      eventsUrl = await fleet.start();
    } else if (round === 1) {
      await fleet.terminate();
      eventsUrl = await fleet.start();
    }
  }
  await traffic.settle(() => journaled(dir) === 0, SETTLE_MS);
  const threadsCrashed = { drawing: await crashed.drawing, inference: await crashed.inference };
  const rssAfter = fleet.rssNowMiB();
  await fleet.terminate();
  fleet.close();

  // A state directory that fills up while requests arrive: they are answered all the same.
  const disk = smallDisk();
  let fullDisk: Fleet | undefined;
  if (disk) {
    writeBotConfig(disk.dir, CONFIG);
    fullDisk = new Fleet(disk.dir, env, join(dir, 'bot-stderr-full-disk.log'));
    const url = await fullDisk.start();
    disk.fill();
    for (let c = 0; c < CHANNELS; c++) await traffic.send(c, url);
    await traffic.settle(() => true, SETTLE_MS);
    await fullDisk.terminate();
    fullDisk.close();
    disk.release();
  }
  traffic.close();
  const minutes = (Date.now() - began) / 60_000;
  const platformCalls = discord.requests.length + slack.calls.length;
  await discord.close();
  await slack.close();

  const tally = traffic.tally();
  const latencies = [...tally.latencies].sort((a, b) => a - b);
  const result = {
    sent: tally.sent,
    answered: tally.answered,
    told_of_failure: tally.told,
    lost: tally.lost,
    crashes: fleet.crashes + (fullDisk?.crashes ?? 0) + startup.filter((c) => !c.clean).length,
    duplicates: tally.duplicates,
    journal_left: journaled(dir),
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    peak_rss_mib: Math.round(Math.max(fleet.peakRssMiB, fullDisk?.peakRssMiB ?? 0)),
    rss_after_mib: Math.round(rssAfter),
    platform_calls_per_minute: Math.round(platformCalls / minutes),
    slack_rate_limited: slack.rateLimited.length,
    discord_rate_limited: discord.rateLimited.length,
    drawing_thread_crashed: threadsCrashed.drawing,
    inference_thread_crashed: threadsCrashed.inference,
    full_disk: disk ? 'run' : 'not run (mounting a tmpfs needs root)',
    minutes: Number(minutes.toFixed(1)),
    startup_faults: startup,
    crash_logs: [...fleet.crashLogs, ...(fullDisk?.crashLogs ?? [])],
    lost_seen: tally.lostSeen,
    bot_logs: [fleet.logFile, ...(fullDisk ? [fullDisk.logFile] : [])],
  };
  if (flags.json) console.log(JSON.stringify(result));
  else printTable(result);
  process.exitCode = result.lost === 0 && result.crashes === 0 && result.duplicates === 0 ? 0 : 1;
}

interface Printed {
  startup_faults: { name: string; clean: boolean; detail: string }[];
  crash_logs: string[];
  lost_seen: string[];
  bot_logs: string[];
}

function printTable(r: Record<string, unknown> & Printed): void {
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
    ['Discord calls answered 429', r.discord_rate_limited],
    ['drawing thread crashed mid-job', r.drawing_thread_crashed ? 'yes' : 'NO (not reached)'],
    ['model thread crashed mid-answer', r.inference_thread_crashed ? 'yes' : 'NO (not reached)'],
    ['state directory filled mid-run', r.full_disk],
    ['run time', `${String(r.minutes)} min`],
    ...r.startup_faults.map((c): [string, unknown] => [
      `start-up: ${c.name}`,
      `${c.clean ? 'one line, exit 1' : 'NOT CLEAN'}: ${c.detail}`,
    ]),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${String(value)}`);
  for (const log of r.crash_logs) console.log(`crash: ${log}`);
  for (const seen of r.lost_seen) console.log(`lost: ${seen}`);
  if (r.lost_seen.length > 0 || r.crash_logs.length > 0) console.log(`the bot's logs: ${r.bot_logs.join(', ')}`);
}

await main();
