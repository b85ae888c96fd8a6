import type { EvalTask } from './cases.ts';
import { EVAL_TASKS } from './cases.ts';
import type { Prediction } from './run.ts';

/** One task's result: accuracy for single-answer tasks, micro precision/recall/F1 for box lists. */
export interface TaskSummary {
  task: EvalTask;
  cases: number;
  errors: number;
  accuracy?: number;
  precision?: number;
  recall?: number;
  f1?: number;
  tp?: number;
  fp?: number;
  fn?: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export function summarize(predictions: readonly Prediction[]): TaskSummary[] {
  return EVAL_TASKS.flatMap((task): TaskSummary[] => {
    const mine = predictions.filter((p) => p.task === task);
    if (mine.length === 0) return [];
    const base = { task, cases: mine.length, errors: mine.filter((p) => p.error !== undefined).length };
    if (task !== 'detection' && task !== 'grounding') {
      return [{ ...base, accuracy: ratio(mine.filter((p) => 'correct' in p.score && p.score.correct).length, mine.length) }];
    }
    const sum = (key: 'tp' | 'fp' | 'fn') => mine.reduce((n, p) => n + ('tp' in p.score ? p.score[key] : 0), 0);
    const [tp, fp, fn] = [sum('tp'), sum('fp'), sum('fn')];
    const precision = ratio(tp, tp + fp);
    const recall = ratio(tp, tp + fn);
    return [{ ...base, precision, recall, f1: ratio(2 * precision * recall, precision + recall), tp, fp, fn }];
  });
}

/** A plain-text table, one row per task present. */
export function formatTable(summaries: readonly TaskSummary[]): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const rows = summaries.map((s) => {
    const metric = s.accuracy !== undefined
      ? `accuracy ${pct(s.accuracy)}`
      : `F1 ${s.f1!.toFixed(3)}  (P ${s.precision!.toFixed(3)}, R ${s.recall!.toFixed(3)}; tp ${s.tp} fp ${s.fp} fn ${s.fn})`;
    return `${s.task.padEnd(10)} ${String(s.cases).padStart(6)}  ${metric}${s.errors ? `  [${s.errors} not run]` : ''}`;
  });
  return [`${'task'.padEnd(10)} ${'cases'.padStart(6)}  score`, ...rows].join('\n');
}
