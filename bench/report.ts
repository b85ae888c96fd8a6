/** The human-readable table of a benchmark result. */
import type { ModelReport, PathSummary } from './measure.ts';

const fmt = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

function pathTable(r: ModelReport): string {
  const paths: [string, PathSummary | undefined][] = [['engine', r.engine], ['floor', r.floor], ['official', r.official]];
  const row = (label: string, f: (p: PathSummary) => string): string[] => [label, ...paths.map(([, p]) => (p ? f(p) : 'skipped'))];
  return pad([
    ['', ...paths.map(([n]) => n)],
    row('vision ms per image', (p) => fmt(p.vision_ms)),
    row(`prefill tok/s (${r.engine.prefill_tokens} tokens)`, (p) => fmt(p.prefill_tok_per_s, 0)),
    row('decode tok/s', (p) => fmt(p.decode_tok_per_s, 2)),
    row('TTFT first turn ms', (p) => fmt(p.ttft_first_ms)),
    row('TTFT follow-up ms', (p) => fmt(p.ttft_followup_ms)),
    row('  follow-up prefill tokens', (p) => String(p.followup_prefill_tokens)),
    row('event-loop lag p99 ms', (p) => fmt(p.event_loop_lag_p99_ms)),
    row('peak RSS MB', (p) => fmt(p.peak_rss_mb, 0)),
  ]);
}

function concurrencyTable(r: ModelReport): string {
  const rows = [[`at once (${r.concurrency_tokens} tokens each)`, 'tok/s total', 'TTFT p50 ms', 'TTFT p95 ms', 'latency p50 ms', 'latency p95 ms', 'lag p99 ms', 'preprocess+vision+prefill ms']];
  for (const [label, levels] of [['batched', r.concurrency], ['one at a time', r.concurrency_unbatched]] as const) {
    for (const [n, c] of Object.entries(levels)) {
      rows.push([`${n} ${label}`, fmt(c.aggregateTokPerS), fmt(c.ttftP50Ms, 0), fmt(c.ttftP95Ms, 0), fmt(c.latencyP50Ms, 0), fmt(c.latencyP95Ms, 0), fmt(c.lagP99Ms), fmt(c.startupMs, 0)]);
    }
  }
  return pad(rows);
}

export function formatReport(r: ModelReport): string {
  const ratios = Object.entries(r.ratios).map(([k, v]) => `  ${k} = ${fmt(v, 3)}`);
  const agree = `greedy ids equal to the engine's: floor ${r.ids_agree.floor}${r.ids_agree.official === undefined ? '' : `, official ${r.ids_agree.official}`}`;
  return [
    `== ${r.name} (${r.model}): ${r.shape}`,
    `   ${r.runs} runs (medians), ${r.tokens} tokens per turn; engine preprocessing ${fmt(r.engine.preprocess_ms)} ms per image (outside TTFT)`,
    pathTable(r),
    '',
    concurrencyTable(r),
    `floor decode with N prompts per call (tok/s in total): ${Object.entries(r.floor_batched_decode_tok_per_s).map(([n, v]) => `${n}: ${fmt(v)}`).join(', ') || '—'}`,
    '',
    'ratios (paired per run, median):',
    ...ratios,
    `  event_loop_lag_p99_ms = ${fmt(r.event_loop_lag_p99_ms, 2)}`,
    agree,
  ].join('\n');
}
