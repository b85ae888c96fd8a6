import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture, PYTHON, removeDir, runExport, tempDir } from './helpers/official-export.ts';

const LORA = 'llama_model.base_model.model.model.layers';

describe('the exporter refuses incomplete checkpoints instead of silently dropping weights', () => {
  let work: string;
  beforeAll(() => {
    work = tempDir('export-refusal-');
    // One LoRA tensor missing, another one under a spelling peft never used: both must be reported.
    makeFixture(join(work, 'files'), ['--drop', `${LORA}.1.self_attn.v_proj.lora_B.weight`, '--drop', `${LORA}.0.self_attn.q_proj.lora_A.weight`]);
  }, 60_000);
  afterAll(() => removeDir(work));

  it('lists every missing LoRA key, exits non-zero and writes nothing', () => {
    const out = join(work, 'model');
    const run = runExport(join(work, 'files'), out);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('export refused: 2 problem(s), nothing written');
    expect(run.stderr).toContain(`missing ${LORA}.1.self_attn.v_proj.lora_B.weight (or ${LORA}.1.self_attn.v_proj.lora_B.default.weight)`);
    expect(run.stderr).toContain(`missing ${LORA}.0.self_attn.q_proj.lora_A.weight`);
    expect(run.stderr).not.toContain('Traceback');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('partial'))).toEqual([]);
  }, 60_000);

  it('will not write into a directory that already holds files', () => {
    const out = join(work, 'taken');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const run = runExport(join(work, 'files'), out);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('exists and is not an empty directory');
    expect(readdirSync(out)).toEqual(['keep.txt']);
  }, 60_000);

  it('names a missing input file in one line', () => {
    const run = runExport(join(work, 'nowhere'), join(work, 'model2'));
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('no such file');
  }, 60_000);

  it('refuses LoRA on a module it would not merge rather than dropping it', () => {
    const files = join(work, 'stray');
    makeFixture(files);
    const key = `${LORA}.0.self_attn.k_proj.lora_A.weight`;
    execFileSync(PYTHON, ['-c', `import sys, torch
c = torch.load(sys.argv[1]); c['model'][sys.argv[2]] = torch.zeros(8, 128); torch.save(c, sys.argv[1])`, join(files, 'minigptv2_checkpoint.pth'), key]);
    const run = runExport(files, join(work, 'stray-model'));
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${key} is LoRA on a module this export does not merge`);
    expect(existsSync(join(work, 'stray-model'))).toBe(false);
  }, 60_000);
});
