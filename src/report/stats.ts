/**
 * `runbook stats`: the DR guide's KPIs ("Disaster Recovery Metrics") computed from history.
 * Which runs count where comes from the runbook's `kind:` (journaled in run.started):
 * - backup: success rate, and the duration of successful backups against the runbook's RTO (its time budget);
 * - restore-test: success rate;
 * - recovery (the default kind): success rate, MTTR (mean duration of successful recoveries), and
 *   RTO achieved / RPO measured against the objectives.
 * Rates count finished real runs (dry runs and runs still going or dead are left out). Drills and
 * incidents both count; the figures say how many of each. Each KPI carries its trend (./trend.ts).
 */
import type { RunKind, RunRecord } from './run-records.js';
import { trendOf, type Trend } from './trend.js';

export interface Rate {
  runs: number;
  succeeded: number;
  failed: number;
  /** succeeded / runs; null without runs. */
  rate: number | null;
  trend: Trend;
}

export interface DurationKpi {
  runs: number;
  mean_ms: number | null;
  max_ms: number | null;
  /** The objective when every counted runbook has the same one. */
  objective_ms?: number;
  trend: Trend;
}

export interface ObjectiveKpi {
  /** Runs with an objective and a figure. */
  runs: number;
  met: number;
  met_rate: number | null;
  mean_ms: number | null;
  last_ms: number | null;
  objective_ms?: number;
  /** Of the figure relative to its objective (lower is better). */
  trend: Trend;
  by_runbook: { runbook: string; runs: number; met: number; mean_ms: number | null; last_ms: number | null; objective_ms?: number }[];
}

export interface Stats {
  window: { since: string; until: string };
  runbook?: string;
  runs: { total: number; drills: number; incidents: number; incomplete: number };
  backup: Rate & { duration: DurationKpi };
  restore_test: Rate;
  recovery: Rate & { drills: number; incidents: number };
  mttr: DurationKpi;
  rto: ObjectiveKpi;
  rpo: ObjectiveKpi;
}

const finished = (r: RunRecord) => r.status !== 'incomplete';
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function rateOf(runs: RunRecord[]): Rate {
  const done = runs.filter(finished);
  const succeeded = done.filter((r) => r.status === 'succeeded').length;
  return {
    runs: done.length,
    succeeded,
    failed: done.length - succeeded,
    rate: done.length ? succeeded / done.length : null,
    trend: trendOf(done.map((r) => [r.started_ms, r.status === 'succeeded' ? 1 : 0]), 'higher'),
  };
}

function oneObjective(values: (number | undefined)[]): number | undefined {
  const set = new Set(values);
  return set.size === 1 ? [...set][0] : undefined;
}

function durationOf(runs: RunRecord[]): DurationKpi {
  const ok = runs.filter((r) => r.status === 'succeeded' && r.duration_ms !== undefined);
  const ds = ok.map((r) => r.duration_ms!);
  return {
    runs: ok.length,
    mean_ms: mean(ds),
    max_ms: ds.length ? Math.max(...ds) : null,
    ...(oneObjective(ok.map((r) => r.rto.objective_ms)) !== undefined ? { objective_ms: oneObjective(ok.map((r) => r.rto.objective_ms)) } : {}),
    trend: trendOf(ok.map((r) => [r.started_ms, r.duration_ms!]), 'lower'),
  };
}

/** RTO: a finished run with an objective counts (a failed recovery missed it); the time is the run's. */
function objectiveOf(runs: RunRecord[], pick: (r: RunRecord) => { objective_ms?: number; value?: number; met: boolean | null }): ObjectiveKpi {
  const counted = runs.filter(finished).map((r) => ({ r, ...pick(r) })).filter((x) => x.objective_ms !== undefined && x.met !== null);
  const summarize = (xs: typeof counted) => {
    const values = xs.map((x) => x.value).filter((v): v is number => v !== undefined);
    return {
      runs: xs.length,
      met: xs.filter((x) => x.met).length,
      mean_ms: mean(values),
      last_ms: values.length ? values[values.length - 1] : null,
      ...(oneObjective(xs.map((x) => x.objective_ms)) !== undefined ? { objective_ms: oneObjective(xs.map((x) => x.objective_ms)) } : {}),
    };
  };
  const all = summarize(counted);
  const ids = [...new Set(counted.map((x) => x.r.runbook))].sort();
  return {
    ...all,
    met_rate: all.runs ? all.met / all.runs : null,
    // Relative to the objective, so runbooks with different objectives share one series.
    trend: trendOf(
      counted.filter((x) => x.value !== undefined && x.objective_ms! > 0).map((x) => [x.r.started_ms, x.value! / x.objective_ms!]),
      'lower',
    ),
    by_runbook: ids.map((id) => ({ runbook: id, ...summarize(counted.filter((x) => x.r.runbook === id)) })),
  };
}

export function computeStats(records: RunRecord[], window: { sinceMs: number; untilMs: number; runbook?: string }): Stats {
  const of = (kind: RunKind) => records.filter((r) => r.kind === kind);
  const recoveries = of('recovery');
  const recoveryRate = rateOf(recoveries);
  const done = recoveries.filter(finished);
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    ...(window.runbook ? { runbook: window.runbook } : {}),
    runs: {
      total: records.length,
      drills: records.filter((r) => r.drill).length,
      incidents: records.filter((r) => !r.drill).length,
      incomplete: records.filter((r) => !finished(r)).length,
    },
    backup: { ...rateOf(of('backup')), duration: durationOf(of('backup')) },
    restore_test: rateOf(of('restore-test')),
    recovery: { ...recoveryRate, drills: done.filter((r) => r.drill).length, incidents: done.filter((r) => !r.drill).length },
    mttr: durationOf(recoveries),
    // A failed recovery missed its RTO, but its duration is no recovery time: the times are of successes.
    rto: objectiveOf(recoveries, (r) => ({ objective_ms: r.rto.objective_ms, value: r.status === 'succeeded' ? r.rto.achieved_ms : undefined, met: r.rto.met })),
    // RPO counts only runs that measured it.
    rpo: objectiveOf(
      recoveries.filter((r) => r.rpo.measured_ms !== undefined),
      (r) => ({ objective_ms: r.rpo.objective_ms, value: r.rpo.measured_ms, met: r.rpo.met }),
    ),
  };
}
