import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MINI_MODEL_DIR } from '../../src/inference/model-dir.ts';
import { type BotConfig, runBotProcess, writeBotConfig } from '../../test/helpers/bot-process.ts';

/** A start-up that neither runs nor exits within this long is a hang. */
const START_LIMIT_MS = 120_000;

export interface StartupCheck {
  name: string;
  /** Exited non-zero with one line on stderr and no stack trace. */
  clean: boolean;
  detail: string;
}

/** A copy of the mini model whose decoder graph is cut in half, as a failed download or a full disk leaves it. */
function corruptModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'soak-corrupt-model-'));
  for (const file of readdirSync(MINI_MODEL_DIR)) copyFileSync(join(MINI_MODEL_DIR, file), join(dir, file));
  const decoder = readFileSync(join(dir, 'decoder.onnx'));
  writeFileSync(join(dir, 'decoder.onnx'), decoder.subarray(0, Math.floor(decoder.length / 2)));
  return dir;
}

/**
 * Start-ups that must fail in one line and a non-zero exit, never a hang or a stack trace: a corrupt model file,
 * and a state file that cannot be opened (its directory is a file: what a read-only mount looks like to root).
 */
export async function startupFaults(env: NodeJS.ProcessEnv): Promise<StartupCheck[]> {
  const cases: [string, (dir: string) => BotConfig][] = [
    ['corrupt decoder.onnx', () => ({ model: { dir: corruptModel() } })],
    ['unopenable state file', (dir) => ({ state: { file: join(dir, 'bot.yaml', 'x.sqlite') } })],
  ];
  const checks: StartupCheck[] = [];
  for (const [name, config] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'soak-startup-'));
    writeBotConfig(dir, { ...config(dir), metrics: { enabled: false } });
    const { code, stderr, hung } = await runBotProcess(dir, env, {}, START_LIMIT_MS);
    const lines = stderr.trim().split('\n').filter((line) => !line.startsWith('{'));
    const clean = !hung && code !== 0 && lines.length === 1 && !/\n\s+at /.test(stderr);
    checks.push({ name, clean, detail: hung ? 'hung' : (lines[0] ?? '').slice(0, 160) });
  }
  return checks;
}
