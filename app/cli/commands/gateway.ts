import { adapterProblems } from '../../../adapters/config-check.ts';
import { ConfigError } from '../../../src/config/load.ts';
import { createLog } from '../../../src/log.ts';
import { runGateway } from '../../scale/gateway.ts';
import { runCommandLine } from '../command-line.ts';
import { withConfig } from '../with-config.ts';

export const summary = 'gateway [--config FILE] [--console]: the chat adapters, answering through workers on Redis';

const LINE = {
  name: 'gateway',
  usage: 'minigpt-bot gateway [--config FILE] [--console]',
  help: 'Runs Discord, Slack (and the terminal chat with --console, or when neither is enabled) and puts each\n'
    + 'question on the Redis queue at REDIS_URL (or queue.url) for `minigpt-bot worker` processes to answer.',
  options: { config: { type: 'string' }, console: { type: 'boolean' } },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommandLine(LINE, argv, ({ values }) =>
    withConfig(LINE.name, values.config, (config) => {
      const problems = adapterProblems(config);
      if (problems.length > 0) throw new ConfigError(problems.join('\n'));
      return runGateway(config, createLog(config.log.level ?? 'info'), { console: values.console === true });
    }),
  );
}
