import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { percentile } from '../bench/stats.ts';

const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { encoding: 'utf8', timeout: 120_000 });

describe('npm run bench', () => {
  it('prints one JSON object with the ratios the performance aims are checked on, for models/mini', () => {
    const run = bench('--json', '--quick', '--runs', '1', '--skip-scale', '--skip-official', '--model', 'models/mini');
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    for (const key of ['engine_vs_floor_decode', 'followup_ttft_speedup', 'concurrency16_vs_1', 'batched_vs_unbatched_concurrency16']) {
      expect(report.ratios[key], key).toBeGreaterThan(0);
    }
    expect(report.event_loop_lag_p99_ms).toBeGreaterThan(0);
    expect(report.engine.decode_tok_per_s).toBeGreaterThan(0);
    expect(report.floor.decode_tok_per_s).toBeGreaterThan(0);
    // the floor must produce the engine's tokens, or its speed says nothing about the engine's
    expect(report.ids_agree.floor).toBe(true);
    expect(Object.keys(report.concurrency)).toEqual(['1', '4', '16']);
    expect(report.scale).toBeUndefined();
  }, 120_000);

  it('refuses a bad option with a short message and the usage line', () => {
    const run = bench('--runs', 'many');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--runs must be a whole number/);
    expect(run.stderr).toMatch(/usage: npm run bench/);
  });

  it('names a folder that is not a model directory', () => {
    const run = bench('--skip-scale', '--model', 'test/fixtures');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/test\/fixtures is not a model directory/);
  });
});

describe('percentile', () => {
  it('interpolates between ranks as numpy does', () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([10, 20], 95)).toBeCloseTo(19.5);
    expect(percentile([7], 99)).toBe(7);
  });
});
