/**
 * The one model of a finished (or interrupted) run that every report format renders: built from the
 * journal by `summarizeRun`, printed as-is by `--format json`.
 *
 * Times: `*_at` are the journal's ISO timestamps; `*_offset_ms` are milliseconds since `run.started`.
 */
import type { PhaseStatus, RunStatus, StepStatus } from '../interpreter/events.js';

/** A run without `run.finished` (still running, or its process died) is `incomplete`. */
export type ReportRunStatus = RunStatus | 'incomplete';
/** A phase that never started is `pending`; one without `phase.finished` is `running`. */
export type ReportPhaseStatus = PhaseStatus | 'running' | 'pending';

export interface RunReport {
  run: RunInfo;
  /** Params as journaled (secrets already masked by the interpreter). */
  params: Record<string, unknown>;
  objectives: { rto_ms?: number; rpo_ms?: number; on_exceeded: 'warn' | 'abort' };
  rto: RtoResult;
  rpo: RpoResult;
  /** `run.finished.measures` (the runbook's `measure:` block), `{}` when the run did not finish. */
  measures: Record<string, unknown>;
  phases: PhaseReport[];
  /** In order of first start; steps that never started follow, in outline order. */
  steps: StepReport[];
  rollbacks: RollbackReport[];
  decisions: DecisionReport[];
  notes: NoteReport[];
  warnings: WarningReport[];
  /** Every step, phase, rollback, decision, note and warning event, in journal (= time) order. */
  timeline: TimelineEntry[];
}

export interface RunInfo {
  id: string;
  runbook: string;
  title?: string;
  severity?: string;
  file: string;
  /** `drill` for dry runs, `incident` otherwise. */
  kind: 'drill' | 'incident';
  dry_run: boolean;
  status: ReportRunStatus;
  started_at: string;
  finished_at?: string;
  duration_ms?: number;
  error?: string;
  host: string;
  user: string;
  pid: number;
  /** Times the run was continued by `runbook resume`. */
  resumes: number;
}

export interface RtoResult {
  objective_ms?: number;
  achieved_ms?: number;
  /** null: no objective, or the run did not finish. */
  met: boolean | null;
}

export interface RpoResult {
  objective_ms?: number;
  /** From `measures.rpo` (milliseconds); absent when not measured. */
  measured_ms?: number;
  met: boolean | null;
  /** `No`, `Yes — up to …`, or `Unknown (RPO not measured)`. */
  data_loss: string;
}

export interface PhaseReport {
  id: string;
  title?: string;
  status: ReportPhaseStatus;
  started_at?: string;
  start_offset_ms?: number;
  duration_ms?: number;
  budget_ms?: number;
  within_budget: boolean | null;
  /** Step ids of this phase, in the order of `steps`. */
  steps: string[];
}

export interface StepReport {
  id: string;
  phase: string;
  title?: string;
  type?: string;
  depth: number;
  /** `pending` when the step never started. */
  status: StepStatus;
  attempts: number;
  max_attempts?: number;
  started_at?: string;
  start_offset_ms?: number;
  finished_at?: string;
  duration_ms?: number;
  error?: string;
  outputs: Record<string, unknown>;
  where?: string;
  /** Status of this step's rollback body when it ran, else null. */
  rollback: StepStatus | null;
}

export interface RollbackReport {
  step: string;
  phase?: string;
  status: StepStatus;
  started_at: string;
  start_offset_ms: number;
  duration_ms?: number;
  error?: string;
}

export interface DecisionReport {
  at: string;
  offset_ms: number;
  step: string;
  decision: string;
  by: string;
  message?: string;
}

export interface NoteReport {
  at: string;
  offset_ms: number;
  step: string;
  phase?: string;
  text: string;
}

export interface WarningReport {
  at: string;
  offset_ms: number;
  code: string;
  message: string;
  phase?: string;
  step?: string;
}

export interface TimelineEntry {
  at: string;
  offset_ms: number;
  kind: 'run' | 'phase' | 'step' | 'rollback' | 'decision' | 'note' | 'warning';
  phase?: string;
  step?: string;
  /** e.g. `run started`, `started`, `attempt 2/3`, `finished`, `rollback finished`, `approved`. */
  event: string;
  status?: string;
  duration_ms?: number;
  note?: string;
}
