import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createBot } from '../src/bot/core.ts';
import { createRegistry, PluginError } from '../src/bot/registry.ts';
import { adapterProblems } from '../adapters/config-check.ts';
import { ConfigError, loadConfig } from '../src/config/load.ts';
import { StartupError } from '../src/config/startup-error.ts';
import type { Config } from '../src/config/schema.ts';
import { loadEngine } from '../src/config/engine.ts';
import type { Engine } from '../src/inference/engine.ts';
import { ModelLoadError } from '../src/inference/errors.ts';
import { createLog, type Logger } from '../src/log.ts';
import { startHealthServer } from '../src/ops/health-server.ts';
import { instrument } from '../src/ops/instrument.ts';
import { BotMetrics } from '../src/ops/metrics.ts';
import { ShutdownGate, shutDownGracefully } from '../src/ops/shutdown.ts';
import { warmUp } from '../src/ops/warm-up.ts';
import { SqliteConversationStore } from '../src/state/sqlite-store.ts';
import type { BotCore } from '../src/bot/types.ts';
import { redisBackendEnabled } from '../src/scale/redis.ts';
import { type Running, startChatAdapters } from './chat-adapters.ts';
import { runScaledAllInOne } from './scale/all-in-one.ts';
import { PLUGINS } from '../plugins/index.ts';
import { secretsFrom, webEnabled } from '../adapters/web/config.ts';

const USAGE = `usage: npm start -- [--config FILE] [--console]
  --config FILE  settings (YAML or JSON); default ./minigpt-bot.yaml when present
  --console      open the terminal chat even when Discord or Slack is enabled
Discord starts when DISCORD_TOKEN is set, Slack when SLACK_BOT_TOKEN is set; with neither, the terminal chat opens,
and beside it (when typed into) the sandbox page and the OpenAI-compatible API on WEB_PORT (web.enabled: true:
always).`;

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

  if (redisBackendEnabled(config)) return runScaledAllInOne(config, log, withConsole);
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

  // Once the bot runs: a model that stops answering for good ends the process, for its supervisor to restart.
  let engineFailed = (_reason: Error): void => undefined;
  try {
    engine = await loadEngine(config, log, (reason) => engineFailed(reason));
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
    store = new SqliteConversationStore(config.state.file, { maxBytes: config.state.maxMegabytes * 1024 * 1024 });
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
    // The adapter has logged why; the exit code tells the supervisor to restart or alert.
    const exitOnFatal = () => void shutDown().finally(() => process.exit(1));
    engineFailed = (reason) => {
      log.error(`model: ${reason.message}; stopping, to be started again`);
      exitOnFatal();
    };
    const journal = store.journal();
    adapters.push(...(await startChatAdapters(core, config, log, { onFatal: exitOnFatal, journal })));
    const typing = withConsole && Boolean(process.stdin.isTTY && process.stdout.isTTY);
    if (webEnabled(config.web, typing)) adapters.push(await startWeb(core, config, loaded.model.name, log));
  } catch (error) {
    await shutDown(); // the engine's worker would otherwise keep a failed start alive
    throw error;
  }

  if (withConsole) {
    const { start } = await import('../adapters/console/index.ts');
    const terminal = await start(core, { ...config.console, limits: config.limits }, log.child({ adapter: 'console' }));
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
  const fixable = error instanceof StartupError || error instanceof PluginError || error instanceof ModelLoadError;
  if (fixable) return { text: error.message, code: 1 };
  return { text: error instanceof Error ? (error.stack ?? error.message) : String(error), code: 1 };
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
