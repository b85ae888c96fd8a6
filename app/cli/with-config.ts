import { ConfigError, loadConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { EXIT_FAILED } from './command-line.ts';

/**
 * Runs a long-lived command's `body` with the configuration read from `path` (or the default file and the
 * environment). A configuration that does not hold, found while loading or by `body`, is one line naming the
 * command and exit 1, never a stack trace.
 */
export async function withConfig(
  command: string,
  path: string | undefined,
  body: (config: Config) => Promise<number>,
): Promise<number> {
  try {
    return await body(loadConfig({ path }).config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`minigpt-bot ${command}: ${error.message}`);
    return EXIT_FAILED;
  }
}
