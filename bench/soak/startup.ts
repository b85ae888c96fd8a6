import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MINI_MODEL_DIR } from '../../src/inference/model-dir.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** A start-up that neither runs nor exits within this long is a hang. */
const START_LIMIT_MS = 120_000;

export interface StartupCheck {
  name: string;
  /** Exited non-zero with one line on stderr and no stack trace. */
  clean: boolean;
  detail: string;
}

type Started = { code: number | null; stderr: string; hung: boolean };

function startOnce(dir: string, env: NodeJS.ProcessEnv): Promise<Started> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/main.ts'), '--config', 'bot.yaml'],
      { cwd: dir, env: { ...process.env, ...env }, timeout: START_LIMIT_MS, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => {
        const hung = (error as { killed?: boolean } | null)?.killed === true;
        resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stderr, hung });
      },
    );
    child.stdin?.end();
  });
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
  const cases: [string, (dir: string) => string][] = [
    ['corrupt decoder.onnx', () => `model:\n  dir: ${corruptModel()}\n`],
    [
      'unopenable state file',
      (dir) => `model:\n  dir: ${MINI_MODEL_DIR}\nstate:\n  file: ${join(dir, 'bot.yaml', 'x.sqlite')}\n`,
    ],
  ];
  const checks: StartupCheck[] = [];
  for (const [name, yaml] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'soak-startup-'));
    writeFileSync(join(dir, 'bot.yaml'), `${yaml(dir)}metrics:\n  enabled: false\n`);
    const { code, stderr, hung } = await startOnce(dir, env);
    const lines = stderr.trim().split('\n').filter((line) => !line.startsWith('{'));
    const clean = !hung && code !== 0 && lines.length === 1 && !/\n\s+at /.test(stderr);
    checks.push({ name, clean, detail: hung ? 'hung' : (lines[0] ?? '').slice(0, 160) });
  }
  return checks;
}
