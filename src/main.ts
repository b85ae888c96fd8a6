import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBot } from './bot/core.ts';
import { createRegistry, PluginError } from './bot/registry.ts';
import { adapterProblems } from '../adapters/config-check.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { Engine } from './inference/engine.ts';
import { createLog, type Logger } from './log.ts';
import { startHealthServer } from './ops/health-server.ts';
import { instrument } from './ops/instrument.ts';
import { BotMetrics } from './ops/metrics.ts';
import { ShutdownGate, shutDownGracefully } from './ops/shutdown.ts';
import { warmUp } from './ops/warm-up.ts';
import { SqliteConversationStore } from './state/sqlite-store.ts';
import type { BotCore, RequestJournal } from './bot/types.ts';
import { PLUGINS } from '../plugins/index.ts';
import { secretsFrom, webEnabled } from '../adapters/web/config.ts';

const USAGE = `usage: npm start -- [--config FILE] [--console]
  --config FILE  settings (YAML or JSON); default ./minigpt-bot.yaml when present
  --console      open the terminal chat even when Discord or Slack is enabled
Discord starts when DISCORD_TOKEN is set, Slack when SLACK_BOT_TOKEN is set; with neither, the terminal chat opens,
and beside it (when typed into) the sandbox page and the OpenAI-compatible API on WEB_PORT (web.enabled: true:
always).`;

/** A started chat adapter, as the health check and the shutdown see it. */
interface Running {
  name: string;
  stop(graceMs?: number): Promise<void>;
  connected(): boolean;
}

/** The chat adapters the environment enables; each is imported only when enabled, so an unused one costs nothing. */
async function startChatAdapters(
  bot: BotCore,
  config: Config,
  log: Logger,
  journal: RequestJournal,
): Promise<Running[]> {
  const running: Running[] = [];
  if (config.discord.token) {
    const discord = await import('../adapters/discord/index.ts');
    const discordConfig = config.discord as Parameters<typeof discord.start>[1];
    const adapter = await discord.start(bot, discordConfig, log.child({ adapter: 'discord' }), journal);
    log.info({ invite: adapter.inviteUrl }, 'discord: connected');
    running.push({ name: 'discord', stop: (graceMs) => adapter.stop(graceMs), connected: () => adapter.connected() });
  }
  if (config.slack.botToken) {
    const slack = await import('../adapters/slack/index.ts');
    const slackConfig = config.slack as Parameters<typeof slack.start>[1];
    const adapter = await slack.start(bot, slackConfig, log.child({ adapter: 'slack' }), process.env, journal);
    log.info('slack: connected');
    running.push({ name: 'slack', stop: (graceMs) => adapter.stop(graceMs), connected: () => adapter.connected() });
  }
  return running;
}

/** The sandbox page and the OpenAI-compatible API; its address is printed, as the terminal chat's user needs it. */
async function startWeb(bot: BotCore, config: Config, model: string, log: Logger): Promise<Running> {
  const web = await import('../adapters/web/index.ts');
  const options = { model, imageMegabytes: config.limits.imageMegabytes };
  const secrets = secretsFrom(process.env);
  const server = await web.start(bot, config.web, secrets, options, log.child({ adapter: 'web' })).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
      const { host, port } = config.web;
      throw new ConfigError(
        `web.port: cannot listen on ${host}:${port} (${error.code}); set WEB_PORT to a free port or web.enabled: false`,
      );
    },
  );
  console.log(`minigpt-bot: sandbox page and OpenAI-compatible API at ${server.url}`);
  return { name: 'web', stop: () => server.stop(), connected: () => server.connected() };
}

/** One shared engine and framework, wrapped by every enabled adapter; the console when nothing else is enabled. */
async function main(argv: string[]): Promise<number> {
  const { values: flags } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, console: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const { config } = loadConfig({ path: flags.config });
  const chatEnabled = Boolean(config.discord.token || config.slack.botToken);
  const withConsole = flags.console || !chatEnabled;
  const log = createLog(config.log.level ?? (chatEnabled ? 'info' : 'warn'));
  if (!existsSync(join(config.model.dir, 'model.json'))) {
    throw new ConfigError(`model.dir: no model in ${config.model.dir} (set model.dir in the config file to a model folder)`);
  }

  const { disabled, ...sections } = config.plugins;
  createRegistry(PLUGINS, sections, disabled); // plugin sections fail here, before the slow model load
  const problems = adapterProblems(config);
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));

  const metrics = new BotMetrics();
  const adapters: Running[] = [];
  let engine: Engine | undefined;
  let store: SqliteConversationStore | undefined;
  // The port first: a taken one is reported before the slow model load, not after it.
  const health = config.metrics.enabled === true || (config.metrics.enabled === 'auto' && chatEnabled)
    ? await startHealthServer({
        ...config.metrics,
        metrics,
        checks: () => [
          { name: 'model', ok: () => engine?.alive === true },
          { name: 'state', ok: () => store?.writable() === true },
          ...adapters.map((a) => ({ name: a.name, ok: () => a.connected() })),
        ],
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EADDRINUSE' && error.code !== 'EACCES') throw error;
        throw new ConfigError(`metrics.port: cannot listen on ${config.metrics.host}:${config.metrics.port} (${error.code === 'EADDRINUSE' ? 'another program uses it' : 'not allowed'}); set METRICS_PORT to a free port, or metrics.enabled: false`);
      })
    : undefined;
  if (health) log.info({ url: health.url }, 'health and metrics listening');

  try {
    engine = await Engine.load(config.model.dir, {
      device: config.model.device,
      threads: config.model.threads,
      maxBatch: config.model.maxBatch,
      maxConversations: config.model.cachedConversations,
      warn: (line) => log.warn(line),
    });
  } catch (error) {
    await health?.close();
    throw error;
  }
  const loaded = engine;
  const warmUpFailure = await warmUp(loaded);
  if (warmUpFailure !== undefined) {
    await Promise.all([loaded.close(), health?.close()]);
    throw new ConfigError(`model.dir: the model in ${config.model.dir} failed its first answer (${warmUpFailure}); check that its model.json matches its graphs, or export it again`);
  }
  log.info({ model: loaded.model.name, device: loaded.device, capacity: loaded.capacity }, 'model loaded');
  const settings = { access: config.access, limits: config.limits, conversations: config.conversations, plugins: config.plugins };
  try {
    store = new SqliteConversationStore(config.state.file);
  } catch (error) {
    await Promise.all([loaded.close(), health?.close()]); // the engine's worker would keep a failed start alive
    throw new ConfigError(`state.file: cannot open ${config.state.file} (${(error as Error).message}); set MINIGPT_STATE_FILE or state.file to a writable path`);
  }
  const bot = createBot({ engine: loaded, plugins: PLUGINS, settings, generation: config.generation, log, store });
  const gate = new ShutdownGate();
  const core = instrument(gate.wrap(bot), metrics);
  // Stop taking new work, let running answers finish (or cancel them past the grace period), then flush state.
  const shutDown = (): Promise<void> =>
    shutDownGracefully({
      gate,
      adapters,
      graceMs: config.shutdown.graceSeconds * 1000,
      abortEngine: () => loaded.abort(),
      closeRest: async () => {
        await bot.close();
        await loaded.close();
        await health?.close();
        store.close();
      },
      log,
    });
  // Before the adapters start: a signal while they connect must stop the bot cleanly, not kill it.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () =>
      void shutDown().then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      ),
    );
  }
  try {
    adapters.push(...(await startChatAdapters(core, config, log, store.journal())));
    const typing = withConsole && Boolean(process.stdin.isTTY && process.stdout.isTTY);
    if (webEnabled(config.web, typing)) adapters.push(await startWeb(core, config, loaded.model.name, log));
  } catch (error) {
    await shutDown(); // the engine's worker would otherwise keep a failed start alive
    throw error;
  }

  if (withConsole) {
    const { start } = await import('../adapters/console/index.ts');
    const terminal = await start(core, config.console, log.child({ adapter: 'console' }));
    await terminal.finished;
    // a web server opened only beside the terminal chat ends with it
    if (adapters.every((a) => a.name === 'web' && config.web.enabled === 'auto')) {
      await shutDown();
      return 0;
    }
  }
  return 0; // the chat adapters' connections keep the process running until a signal stops them
}

/** Mistakes a user can fix get one line; anything else keeps its stack for a bug report. */
function explain(error: unknown): { text: string; code: number } {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('ERR_PARSE_ARGS')) return { text: `${(error as Error).message}\n${USAGE}`, code: 2 };
  if (error instanceof ConfigError || error instanceof PluginError) return { text: error.message, code: 1 };
  const text = error instanceof Error ? error.message : String(error);
  const isSetupProblem = /^(cannot load the model|discord[.:]|slack[.:]|SLACK_)/.test(text);
  return isSetupProblem ? { text, code: 1 } : { text: error instanceof Error ? (error.stack ?? text) : text, code: 1 };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const { text, code } = explain(error);
    console.error(`minigpt-bot: ${text}`);
    process.exitCode = code;
  },
);
