import { createLog } from '../../../src/log.ts';
import { runWorker } from '../../../src/scale/worker-role.ts';
import { runCommandLine } from '../command-line.ts';
import { withConfig } from '../with-config.ts';

export const summary = 'worker [--config FILE]: one engine answering the questions gateways put on Redis';

const LINE = {
  name: 'worker',
  usage: 'minigpt-bot worker [--config FILE]',
  help: 'Loads model.dir on model.device and takes jobs from the Redis queue at REDIS_URL (or queue.url) until\n'
    + 'SIGTERM, which lets the jobs it holds finish. Run one per GPU (or several on a CPU, with model.threads).',
  options: { config: { type: 'string' } },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, ({ values }) =>
    withConfig(LINE.name, values.config, (config) => runWorker(config, createLog(config.log.level ?? 'info'))),
  );
}
