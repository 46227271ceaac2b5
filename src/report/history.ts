/**
 * Predicted durations from past runs of a runbook, for `plan` (critical path vs RTO and budgets) and
 * the TUI header. Only real work counts: dry runs are ignored (their steps do nothing), and only
 * `succeeded` steps, phases and runs are measured (a failure's duration says little about the next
 * success). The window is the last `limit` (default 20) non-dry runs of the runbook, newest by
 * `run.started`, whatever their status. Percentiles are nearest-rank (see `percentile.ts`).
 */
import type { RunEvent } from '../interpreter/events.js';
import { durationStats, type DurationStats } from './percentile.js';
import { listRuns, readRunEvents, type StoreRef } from './read.js';

export type { DurationStats } from './percentile.js';

export interface HistoryOptions {
  /** How many past non-dry runs to look at, newest first. Default 20. */
  limit?: number;
  /** A run left out: the one being predicted, when the prediction is made after it has run. */
  exclude?: string;
}

/** Step id (dotted inside sub-runbooks) → stats of its `succeeded` durations. */
export function stepDurations(store: StoreRef, runbookId: string, opts: HistoryOptions = {}): Map<string, DurationStats> {
  return statsBy(pastEvents(store, runbookId, opts), (ev) =>
    ev.type === 'step.finished' && ev.status === 'succeeded' ? [ev.step, ev.duration_ms] : undefined,
  );
}

/** Phase id → stats of its `succeeded` durations. */
export function phaseDurations(store: StoreRef, runbookId: string, opts: HistoryOptions = {}): Map<string, DurationStats> {
  return statsBy(pastEvents(store, runbookId, opts), (ev) =>
    ev.type === 'phase.finished' && ev.status === 'succeeded' ? [ev.phase, ev.duration_ms] : undefined,
  );
}

/** Stats of whole-run durations of `succeeded` runs; undefined when there are none. */
export function runDurations(store: StoreRef, runbookId: string, opts: HistoryOptions = {}): DurationStats | undefined {
  const stats = statsBy(pastEvents(store, runbookId, opts), (ev) =>
    ev.type === 'run.finished' && ev.status === 'succeeded' ? ['run', ev.duration_ms] : undefined,
  );
  return stats.get('run');
}

function pastEvents(store: StoreRef, runbookId: string, opts: HistoryOptions): RunEvent[][] {
  const limit = opts.limit ?? 20;
  return listRuns(store, runbookId)
    .filter((r) => !r.dry_run && r.run !== opts.exclude)
    .slice(0, limit)
    .map((r) => {
      try {
        return readRunEvents(store, r.run);
      } catch {
        // A corrupt journal is skipped here: a prediction should not stop `plan`.
        return [];
      }
    });
}

function statsBy(runs: RunEvent[][], pick: (ev: RunEvent) => [string, number] | undefined): Map<string, DurationStats> {
  const values = new Map<string, number[]>();
  for (const events of runs) {
    for (const ev of events) {
      const kv = pick(ev);
      if (!kv || !Number.isFinite(kv[1])) continue;
      const list = values.get(kv[0]) ?? [];
      list.push(kv[1]);
      values.set(kv[0], list);
    }
  }
  return new Map([...values].map(([k, v]) => [k, durationStats(v)]));
}
