import type { Config } from '../../src/config/schema.ts';

export type WebSettings = Config['web'];

/** What the server guards itself with, from the environment only (never the config file). */
export interface WebSecrets {
  /** Bearer keys the API takes; none: the API is open (allowed on loopback only). */
  apiKeys: string[];
  /** The page's password (HTTP Basic, any user name); an API key is taken there too. */
  password?: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export const isLoopback = (host: string): boolean => LOOPBACK.has(host) || host.startsWith('127.');

/** `API_KEYS` is a comma- or space-separated list; `WEB_PASSWORD` one string. */
export function secretsFrom(env: NodeJS.ProcessEnv): WebSecrets {
  const apiKeys = (env.API_KEYS ?? '').split(/[\s,]+/).filter(Boolean);
  return { apiKeys, password: env.WEB_PASSWORD || undefined };
}

/**
 * Whether the server runs: 'auto' opens it beside a terminal chat someone types into (no chat token set, stdin and
 * stdout a terminal), not for piped input; true always.
 */
export const webEnabled = (web: WebSettings, interactiveConsole: boolean): boolean =>
  web.enabled === true || (web.enabled === 'auto' && interactiveConsole);

/** One line per setting that would leave the server open to anyone on the network. */
export function webProblems(web: WebSettings, env: NodeJS.ProcessEnv): string[] {
  if (web.enabled === false || isLoopback(web.host) || secretsFrom(env).apiKeys.length > 0) return [];
  return [`web: host ${web.host} is not loopback: set API_KEYS (and WEB_PASSWORD for the page), or WEB_HOST=127.0.0.1`];
}
