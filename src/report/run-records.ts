/**
 * The runs `runbook drills` and `runbook stats` count, one record each, read from history through
 * `listRuns` / `readRunEvents` (so they follow wherever runs are stored) and the report model
 * (`summarizeRun`: RTO and RPO exactly as the run's report states them). Dry runs changed nothing
 * and are left out; so is a journal that cannot be read.
 */
import type { StoreRef } from './read.js';
import type { RunStartedEvent } from '../interpreter/events.js';
import { listRuns, readRunEvents } from './read.js';
import { summarizeRun } from './summarize.js';
import type { ReportRunStatus } from './types.js';

/** What a run counts as (the runbook's `kind:`, journaled in run.started; `recovery` when absent). */
export type RunKind = 'recovery' | 'backup' | 'restore-test' | 'maintenance';
export const RUN_KINDS: readonly RunKind[] = ['recovery', 'backup', 'restore-test', 'maintenance'];

export interface RunRecord {
  run: string;
  runbook: string;
  kind: RunKind;
  /** `run --drill`. */
  drill: boolean;
  started_ms: number;
  status: ReportRunStatus;
  duration_ms?: number;
  rto: { objective_ms?: number; achieved_ms?: number; met: boolean | null };
  rpo: { objective_ms?: number; measured_ms?: number; met: boolean | null };
}

export function readRunRecords(stateDir: StoreRef, opts: { runbook?: string; sinceMs?: number } = {}): RunRecord[] {
  const out: RunRecord[] = [];
  for (const summary of listRuns(stateDir, opts.runbook)) {
    if (summary.dry_run) continue;
    const started_ms = Date.parse(summary.started_at);
    if (opts.sinceMs !== undefined && !(started_ms >= opts.sinceMs)) continue;
    let events;
    try {
      events = readRunEvents(stateDir, summary.run);
    } catch {
      continue;
    }
    const started = events.find((e): e is RunStartedEvent => e.type === 'run.started');
    if (!started) continue;
    const report = summarizeRun(events);
    out.push({
      run: summary.run,
      runbook: summary.runbook,
      kind: RUN_KINDS.includes(started.kind as RunKind) ? (started.kind as RunKind) : 'recovery',
      drill: started.drill === true,
      started_ms,
      status: summary.status,
      duration_ms: summary.duration_ms,
      rto: report.rto,
      rpo: { objective_ms: report.rpo.objective_ms, measured_ms: report.rpo.measured_ms, met: report.rpo.met },
    });
  }
  // Oldest first: trends read the series in time order.
  return out.sort((a, b) => a.started_ms - b.started_ms || (a.run < b.run ? -1 : 1));
}
