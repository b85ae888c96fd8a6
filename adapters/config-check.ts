import { parseConfig as parseDiscord } from './discord/config.ts';
import { parseConfig as parseSlack, withEnvironment as slackEnvironment } from './slack/config.ts';
import { webProblems } from './web/config.ts';
import type { Config } from '../src/config/schema.ts';

/**
 * What would stop an enabled chat adapter from starting, checked before anything loads: each adapter's own
 * settings, and token sets left half-filled (a Slack app token or signing secret without the bot token would
 * otherwise leave Slack silently off). One line per problem; none when all is well.
 */
export function adapterProblems(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  if (config.discord.token) {
    const discord = parseDiscord(config.discord as Parameters<typeof parseDiscord>[0]);
    if (!discord.ok) problems.push(`discord: ${discord.message}`);
  }
  const slack = config.slack as Record<string, unknown>;
  if (slack.botToken) {
    const parsed = parseSlack(slackEnvironment(slack, env));
    if (!parsed.ok) problems.push(`slack: ${parsed.message}`);
  } else {
    const given = (['appToken', 'signingSecret'] as const).filter((key) => slack[key]);
    if (given.length > 0) problems.push(`slack: SLACK_BOT_TOKEN is missing, though ${given.map((k) => (k === 'appToken' ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET')).join(' and ')} ${given.length > 1 ? 'are' : 'is'} set`);
  }
  problems.push(...webProblems(config.web, env));
  return problems;
}
