/** One line of `history`: what a run's `run.started` and `run.finished` events say about it. */
import type { RunEvent, RunFinishedEvent, RunStartedEvent } from '../interpreter/events.js';
import type { ReportRunStatus } from '../report/types.js';

export interface RunSummary {
  run: string;
  runbook: string;
  title?: string;
  severity?: string;
  started_at: string;
  finished_at?: string;
  /** Absent while the run is `incomplete`. */
  duration_ms?: number;
  /** `incomplete`: no `run.finished` — still running, or its process died (see `runbook resume`). */
  status: ReportRunStatus;
  rto_ms?: number;
  rto_met: boolean | null;
  dry_run: boolean;
  /** A real run marked as a DR drill (`run --drill`). */
  drill: boolean;
  file: string;
}

export function summarizeRun(runId: string, started: RunStartedEvent, finished: RunFinishedEvent | undefined): RunSummary {
  return {
    run: runId,
    runbook: started.runbook,
    title: started.title,
    severity: started.severity,
    started_at: started.ts,
    finished_at: finished?.ts,
    duration_ms: finished?.duration_ms,
    status: finished?.status ?? 'incomplete',
    rto_ms: finished?.rto_ms,
    rto_met: finished?.rto_met ?? null,
    dry_run: started.dry_run,
    drill: started.drill === true,
    file: started.file,
  };
}

/** Newest `run.started` first; ties by run id, descending. */
export function newestFirst(a: RunSummary, b: RunSummary): number {
  return Date.parse(b.started_at) - Date.parse(a.started_at) || (a.run < b.run ? 1 : a.run > b.run ? -1 : 0);
}

/** The run.started / run.finished pair from a list of events (or undefined without a start). */
export function summarizeEvents(runId: string, events: RunEvent[]): RunSummary | undefined {
  let started: RunStartedEvent | undefined;
  let finished: RunFinishedEvent | undefined;
  for (const e of events) {
    if (e.type === 'run.started' && !started) started = e;
    else if (e.type === 'run.finished') finished = e;
  }
  return started ? summarizeRun(runId, started, finished) : undefined;
}
