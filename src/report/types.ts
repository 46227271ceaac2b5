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
  /** `drill` for `run --drill` (a real run that exercises the plan), `dry_run` for `--dry-run`, else `incident`. */
  kind: 'incident' | 'drill' | 'dry_run';
  dry_run: boolean;
  drill: boolean;
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
  /** Addresses of this phase's steps (with their instances and sub-steps), in the order of `steps`. */
  steps: string[];
}

/** One step, or one instance of it (spec §8): `id` is its instance address (`restart-each[1].healthy`). */
export interface StepReport {
  id: string;
  /** The phase as journaled: a sub-runbook's steps are in `<instance>/<phase>`. */
  phase: string;
  /** The top-level phase (or `finally`) the step belongs to: its instances' and sub-steps' too. */
  top_phase: string;
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
  /** An item instance: its index and value (masked, as one line); a host instance: its host. */
  index?: number;
  item?: string;
  host?: string;
  /** A for_each step: how its items ended (its aggregate step.finished). */
  items?: { succeeded: number; failed: number; timed_out: number; skipped: number; cancelled: number };
  /** An `on:` step: its items are hosts (spec §9). */
  hosts?: boolean;
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
