import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers for the exporter tests: miniature official-format checkpoints, the export command, the
 * independent PyTorch forward (models/tools/tests/official_forward.py). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PYTHON = '/usr/bin/python3';
/** The miniature EVA file has a 4x4 grid of 14-px patches; exporting at 112 px resizes it to 8x8. */
export const FIXTURE_IMAGE_SIZE = 112;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function makeFixture(out: string, extra: string[] = []): void {
  const args = ['-m', 'models.tools.make_official_fixture', '--out', out, ...extra];
  execFileSync(PYTHON, args, { cwd: ROOT, stdio: 'pipe' });
}

export interface ExportRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runExport(files: string, out: string, extra: string[] = []): ExportRun {
  const r = spawnSync(
    PYTHON,
    ['-m', 'models.tools.export', '--minigptv2', join(files, 'minigptv2_checkpoint.pth'), '--eva', join(files, 'eva_vit_g.pth'),
      '--llama', join(files, 'llama'), '--out', out, '--image-size', String(FIXTURE_IMAGE_SIZE), ...extra],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ReferenceCase {
  image: string;
  task: string;
  question: string;
  steps: number;
}

export interface ReferenceResult {
  image_embeds: number[];
  first_logits: number[];
  greedy_ids: number[];
  min_margin: number;
}

export function runReference(files: string, cases: ReferenceCase[], work: string): ReferenceResult[] {
  const casesPath = join(work, 'cases.json');
  const outPath = join(work, 'reference.json');
  writeFileSync(casesPath, JSON.stringify(cases));
  const args = ['-m', 'models.tools.tests.official_forward', files, String(FIXTURE_IMAGE_SIZE), outPath, casesPath];
  execFileSync(PYTHON, args, { cwd: ROOT, stdio: 'pipe' });
  return JSON.parse(readFileSync(outPath, 'utf8')) as ReferenceResult[];
}

export { relativeError } from './relative-error.ts';
