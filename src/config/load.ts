import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { Config } from './schema.ts';
import { StartupError } from './startup-error.ts';

/** Looked for in the working directory when no `--config` is given; without it every default applies. */
export const DEFAULT_CONFIG_FILE = 'minigpt-bot.yaml';

/** Secrets live in the environment only; these are read into the adapters' sections. */
const ENV_SECRETS = {
  discord: { token: 'DISCORD_TOKEN', apiUrl: 'DISCORD_API_URL' },
  slack: {
    botToken: 'SLACK_BOT_TOKEN',
    appToken: 'SLACK_APP_TOKEN',
    signingSecret: 'SLACK_SIGNING_SECRET',
    apiUrl: 'SLACK_API_URL',
  },
} as const;

/** Settings a container sets through its environment (not secrets: they may also be written in the file). */
const ENV_SETTINGS: { variable: string; path: [string, string]; parse: (value: string) => unknown }[] = [
  { variable: 'MINIGPT_MODEL_DIR', path: ['model', 'dir'], parse: String },
  { variable: 'MINIGPT_DEVICE', path: ['model', 'device'], parse: String },
  { variable: 'MINIGPT_STATE_FILE', path: ['state', 'file'], parse: String },
  { variable: 'METRICS_PORT', path: ['metrics', 'port'], parse: Number },
  { variable: 'METRICS_HOST', path: ['metrics', 'host'], parse: String },
  { variable: 'WEB_PORT', path: ['web', 'port'], parse: Number },
  { variable: 'WEB_HOST', path: ['web', 'host'], parse: String },
  { variable: 'REDIS_URL', path: ['queue', 'url'], parse: String },
];

const SECRET_KEYS = ['token', 'botToken', 'appToken', 'signingSecret'];

export class ConfigError extends StartupError {}

export interface LoadedConfig {
  config: Config;
  /** The file read, or undefined when none was. */
  file?: string;
}

/** Keys that earlier versions read, and what replaced them. */
const REPLACED: Record<string, string> = {
  'limits.maxConcurrent': 'requests answered at once are model.maxBatch',
};

/** `limits.perUser.requests: expected number, received string`: the bad key first, then what is wrong. */
function describe(error: z.ZodError, file: string): string {
  return error.issues
    .flatMap((issue) => {
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      return unknown.map((key) => {
        const path = [...issue.path, ...(key ? [key] : [])].join('.') || '(top level)';
        const replaced = REPLACED[path] ? ` (${REPLACED[path]} now)` : '';
        return key ? `${file}: ${path}: unknown key${replaced}` : `${file}: ${path}: ${issue.message}`;
      });
    })
    .join('\n');
}

function readFile(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`${path}: not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}

/**
 * The adapters' sections, with secrets from the environment. A secret written in the file is a problem (and is
 * left out, so the rest of the file is still checked and every problem reported at once).
 */
function withSecrets(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  file: string,
): { merged: Record<string, unknown>; problems: string[] } {
  const merged: Record<string, unknown> = { ...raw };
  const problems: string[] = [];
  for (const [section, vars] of Object.entries(ENV_SECRETS)) {
    const given = (raw[section] ?? {}) as Record<string, unknown>;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) continue;
    const kept = { ...given };
    for (const inFile of SECRET_KEYS.filter((k) => k in given)) {
      const variable = (vars as Record<string, string>)[inFile];
      problems.push(`${file}: ${section}.${inFile}: secrets belong in the environment (${variable}), not in the file`);
      delete kept[inFile];
    }
    const fromEnv = Object.fromEntries(
      Object.entries(vars)
        .filter(([, name]) => env[name])
        .map(([key, name]) => [key, env[name]]),
    );
    merged[section] = { ...kept, ...fromEnv };
  }
  return { merged, problems };
}

/** The environment wins over the file for the settings a deployment sets per container. */
function withEnvSettings(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...raw };
  for (const { variable, path, parse } of ENV_SETTINGS) {
    const value = env[variable];
    if (!value) continue;
    const [section, key] = path;
    const given = merged[section];
    const base = typeof given === 'object' && given !== null && !Array.isArray(given) ? given : {};
    merged[section] = { ...base, [key]: parse(value) };
  }
  return merged;
}

/** Relative paths in the file are relative to the file, so it works from any working directory. */
function resolvePaths(config: Config, base: string): Config {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    model: { ...config.model, dir: at(config.model.dir) },
    console: { ...config.console, outDir: at(config.console.outDir), image: config.console.image && at(config.console.image) },
    state: { ...config.state, file: config.state.file === ':memory:' ? ':memory:' : at(config.state.file) },
  };
}

/** Where the secrets are kept for `npm start`, as for docker compose: read from the working folder when present. */
export const ENV_FILE = '.env';

/**
 * Reads and validates the configuration: `path` when given (it must exist), else `minigpt-bot.yaml` in `cwd` if
 * present, else the defaults. Without an `env` of its own it reads the process environment, after adding what
 * `cwd`'s .env file sets (variables already in the environment win). Throws ConfigError with one line per bad key.
 */
export function loadConfig(options: { path?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  if (!options.env && existsSync(resolve(cwd, ENV_FILE))) {
    try {
      process.loadEnvFile(resolve(cwd, ENV_FILE));
    } catch (error) {
      throw new ConfigError(`${resolve(cwd, ENV_FILE)}: cannot read it (${(error as Error).message.split('\n')[0]})`);
    }
  }
  const env = options.env ?? process.env;
  const candidate = options.path ? resolve(cwd, options.path) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (options.path && !existsSync(candidate)) throw new ConfigError(`${options.path}: no such config file`);
  const file = existsSync(candidate) ? candidate : undefined;
  const raw = file ? readFile(file) : {};
  const label = file ?? 'config';
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${label}: the file must hold a mapping of keys (model, limits, access, ...)`);
  }
  const { merged, problems } = withSecrets(raw as Record<string, unknown>, env, label);
  const parsed = Config.safeParse(withEnvSettings(merged, env));
  if (!parsed.success) problems.push(describe(parsed.error, label));
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems.join('\n'));
  return { config: resolvePaths(parsed.data, file ? dirname(file) : cwd), file };
}
