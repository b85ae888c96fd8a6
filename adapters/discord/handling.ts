import type { CommandSpec } from '../../src/bot/types.ts';
import type { CallBudget } from '../kit/budget.ts';
import type { Journal } from '../kit/journal.ts';
import type { Runner } from '../kit/run.ts';
import type { Config } from './config.ts';
import type { DownloadLimits } from './download.ts';
import type { Log } from './types.ts';

/** What the interaction and message handlers share. */
export interface Handling {
  config: Config;
  log: Log;
  /** Edits per channel, shared by every reply streaming into it (lane: the channel id). */
  edits: CallBudget;
  downloadLimits: DownloadLimits;
  /** The commands, for reading mentions the way the terminal reads lines. */
  commands: readonly CommandSpec[];
  /** Runs a request; an exception becomes the one generic line, logged with the command that caused it. */
  run: Runner;
  /** Accepted requests until their final reply is out, so a restart after a crash can answer them. */
  journal: Journal;
}
