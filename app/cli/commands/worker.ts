import { ConfigError, loadConfig } from '../../../src/config/load.ts';
import { createLog } from '../../../src/log.ts';
import { runWorker } from '../../../src/scale/worker-role.ts';
import { EXIT_FAILED, runCommandLine } from '../command-line.ts';

export const summary = 'worker [--config FILE]: one engine answering the questions gateways put on Redis';

const LINE = {
  name: 'worker',
  usage: 'minigpt-bot worker [--config FILE]',
  help: 'Loads model.dir on model.device and takes jobs from the Redis queue at REDIS_URL (or queue.url) until\n'
    + 'SIGTERM, which lets the jobs it holds finish. Run one per GPU (or several on a CPU, with model.threads).',
  options: { config: { type: 'string' } },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, async ({ values }) => {
    try {
      const { config } = loadConfig({ path: values.config });
      return await runWorker(config, createLog(config.log.level ?? 'info'));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`minigpt-bot worker: ${error.message}`);
      return EXIT_FAILED;
    }
  });
}
