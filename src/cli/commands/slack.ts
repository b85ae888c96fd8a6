import { stringify } from 'yaml';
import { buildManifest, type ManifestOptions } from '../../../adapters/slack/manifest.ts';
import { EVENTS_PATH } from '../../../adapters/slack/transport.ts';
import { createRegistry } from '../../bot/registry.ts';
import { PLUGINS } from '../../../plugins/index.ts';
import { EXIT_USAGE } from '../main.ts';

export const summary = 'Slack app: `manifest [--json] [--name NAME] [--request-url URL]` prints the app manifest';

const USAGE = `usage: minigpt-bot slack manifest [--json] [--name NAME] [--request-url https://HOST${EVENTS_PATH}]`;
/** Slack's limit on an app's name. */
const NAME_MAX = 35;

type Parsed = { ok: true; json: boolean; options: ManifestOptions } | { ok: false; message: string };

function parseArgs(args: string[]): Parsed {
  const options: ManifestOptions = {};
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    if (flag === '--json') {
      json = true;
      continue;
    }
    const value = args[++i];
    if (flag === '--name' && value && value.length <= NAME_MAX) options.name = value;
    else if (flag === '--name') return { ok: false, message: `--name needs a name of 1–${NAME_MAX} characters` };
    else if (flag === '--request-url' && value && URL.canParse(value) && new URL(value).protocol === 'https:')
      options.requestUrl = value;
    else if (flag === '--request-url') return { ok: false, message: '--request-url needs an https:// URL (Slack only calls https)' };
    else return { ok: false, message: `unknown option '${flag}'` };
  }
  return { ok: true, json, options };
}

/**
 * Prints the manifest to paste into api.slack.com/apps → Create New App → From a manifest. Without
 * --request-url the app uses Socket Mode (no public URL needed); with it, Slack posts to that URL.
 */
export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const parsed = action === 'manifest' ? parseArgs(rest) : { ok: false as const, message: USAGE };
  if (!parsed.ok) {
    console.error(parsed.message === USAGE ? USAGE : `minigpt-bot slack manifest: ${parsed.message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  const manifest = buildManifest(createRegistry(PLUGINS).commands(), parsed.options);
  process.stdout.write(parsed.json ? `${JSON.stringify(manifest, null, 2)}\n` : stringify(manifest));
  return 0;
}
