import { stringify } from 'yaml';
import { buildManifest, type ManifestOptions } from '../../../adapters/slack/manifest.ts';
import { EVENTS_PATH } from '../../../adapters/slack/transport.ts';
import { createRegistry } from '../../../src/bot/registry.ts';
import { PLUGINS } from '../../../plugins/index.ts';
import { type Parsed, runActions, runCommandLine, UsageError } from '../command-line.ts';

export const summary = 'Slack app: `manifest [--json] [--name NAME] [--request-url URL]` prints the app manifest';

/** Slack's limit on an app's name. */
const NAME_MAX = 35;

const MANIFEST = {
  name: 'slack manifest',
  usage: `minigpt-bot slack manifest [--json] [--name NAME] [--request-url https://HOST${EVENTS_PATH}]`,
  help: 'Prints the manifest to paste into api.slack.com/apps → Create New App → From a manifest. Without --request-url\n'
    + 'the app uses Socket Mode (no public URL needed); with it, Slack posts events to that URL.',
  options: { json: { type: 'boolean' }, name: { type: 'string' }, 'request-url': { type: 'string' } },
} as const;

export function run(argv: string[]): Promise<number> {
  return runActions('slack', { manifest: { usage: MANIFEST.usage, run: (rest) => runCommandLine(MANIFEST, rest, manifest) } }, argv);
}

async function manifest({ values }: Parsed<typeof MANIFEST.options>): Promise<number> {
  const options: ManifestOptions = {};
  if (values.name !== undefined) {
    if (values.name.length === 0 || values.name.length > NAME_MAX) throw new UsageError(`--name needs a name of 1–${NAME_MAX} characters`);
    options.name = values.name;
  }
  const url = values['request-url'];
  if (url !== undefined) {
    if (!URL.canParse(url) || new URL(url).protocol !== 'https:') throw new UsageError('--request-url needs an https:// URL (Slack only calls https)');
    options.requestUrl = url;
  }
  const built = buildManifest(createRegistry(PLUGINS).commands(), options);
  process.stdout.write(values.json ? `${JSON.stringify(built, null, 2)}\n` : stringify(built));
  return 0;
}
