/**
 * The run's events: exactly the lines of `journal.jsonl` (spec §6), streamed by `--json`, read by the
 * TUI, the plain `--no-tui` printer, `resume` and the reports. Every event has `ts`, `type` and `run`.
 *
 * Steps of a sub-runbook (`runbook:` step) carry a dotted `step` path: `parent.child`, and their
 * phase is `parent/<phase id>`; `depth` tells how deep they are nested (0 = top level).
 */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'cancelled';
export type RunStatus = 'succeeded' | 'rolled_back' | 'rollback_failed' | 'failed' | 'aborted';
export type PhaseStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

interface Base {
  ts: string;
  run: string;
}

export interface RunStartedEvent extends Base {
  type: 'run.started';
  runbook: string;
  title?: string;
  severity?: string;
  file: string;
  params: Record<string, unknown>;
  objectives: { rto_ms?: number; rpo_ms?: number; on_exceeded: 'warn' | 'abort' };
  dry_run: boolean;
  /** Phases and their steps as planned, so viewers can draw the whole run from the first event. */
  outline: OutlinePhase[];
  pid: number;
  host: string;
  user: string;
  /** Present when this process continues an earlier one (`runbook resume`). */
  resumed?: boolean;
  /** `run --drill`: a real run that exercises the plan; its report is a "DR drill report" (spec §12). */
  drill?: boolean;
}

export interface OutlinePhase {
  id: string;
  title?: string;
  budget_ms?: number;
  steps: OutlineStep[];
}

export interface OutlineStep {
  id: string;
  title?: string;
  type: string;
  needs: string[];
  has_rollback: boolean;
  /** `file:line:col` of the step in its YAML file. */
  where?: string;
  estimate_ms?: number;
}

export interface PhaseStartedEvent extends Base {
  type: 'phase.started';
  phase: string;
  title?: string;
  budget_ms?: number;
}

export interface StepStartedEvent extends Base {
  type: 'step.started';
  step: string;
  phase: string;
  attempt: number;
  max_attempts?: number;
  step_type?: string;
  title?: string;
  /** for_each: which item this attempt works on. */
  index?: number;
  /** for_each: the item's value (masked). */
  item?: unknown;
  /** A host instance of a fan-out (spec §9). */
  host?: string;
  depth?: number;
}

export interface StepOutputEvent extends Base {
  type: 'step.output';
  step: string;
  stream: 'stdout' | 'stderr' | 'info';
  text: string;
}

/** What a step printed beyond its `output_limit` on one stream: counted, not journaled (spec §12). */
export interface StepOutputTruncatedEvent extends Base {
  type: 'step.output_truncated';
  step: string;
  stream: 'stdout' | 'stderr' | 'info';
  /** Bytes (UTF-8, after masking) not journaled. */
  bytes: number;
}

/** Live transfer/poll progress (s3 bytes, until polls, docker state). Throttled by the interpreter. */
export interface StepProgressEvent extends Base {
  type: 'step.progress';
  step: string;
  bytes?: number;
  total?: number;
  rate?: number;
  message?: string;
}

export interface StepFinishedEvent extends Base {
  type: 'step.finished';
  step: string;
  phase: string;
  status: StepStatus;
  attempts: number;
  duration_ms: number;
  outputs: Record<string, unknown>;
  error?: string;
  /** The step's result (masked, large fields cut), so resume and reports can use it. */
  result?: unknown;
  where?: string;
  depth?: number;
  index?: number;
  item?: unknown;
  host?: string;
  /** The aggregate step.finished of a for_each step: how its items ended. */
  items?: { succeeded: number; failed: number; timed_out: number; skipped: number; cancelled: number };
  /** `shell.detach: true`: pids of the processes left running on purpose. */
  detached?: number[];
}

export interface PhaseFinishedEvent extends Base {
  type: 'phase.finished';
  phase: string;
  status: PhaseStatus;
  duration_ms: number;
  budget_ms?: number;
  within_budget: boolean | null;
}

export interface RollbackStartedEvent extends Base {
  type: 'rollback.started';
  step: string;
}

export interface RollbackFinishedEvent extends Base {
  type: 'rollback.finished';
  step: string;
  status: StepStatus;
  error?: string;
  duration_ms?: number;
}

export interface ApprovalEvent extends Base {
  type: 'approval';
  step: string;
  /** e.g. approved, rejected, run, skip, retry, ignore, abort, rollback_all, rollback_none, rerun, timeout. */
  decision: string;
  by: string;
  message?: string;
}

export interface LogEvent extends Base {
  type: 'log';
  step: string;
  text: string;
}

/** Budget/RTO crossings and interpreter notices (e.g. "rollback: prompt treated as auto"). */
export interface WarningEvent extends Base {
  type: 'warning';
  code: string;
  message: string;
  phase?: string;
  step?: string;
}

export interface RunFinishedEvent extends Base {
  type: 'run.finished';
  status: RunStatus;
  duration_ms: number;
  rto_ms?: number;
  rto_met: boolean | null;
  measures: Record<string, unknown>;
  error?: string;
}

export interface RunResumedEvent extends Base {
  type: 'run.resumed';
  pid: number;
  /** The resuming runner's host (it may be another machine than the one that started the run, spec §10). */
  host?: string;
  /** Its lease epoch (shared store): higher than the one that wrote the events before. */
  epoch?: number;
  inflight: { step: string; decision: 'rerun' | 'skip' }[];
}

export type RunEvent =
  | RunStartedEvent
  | RunResumedEvent
  | PhaseStartedEvent
  | StepStartedEvent
  | StepOutputEvent
  | StepOutputTruncatedEvent
  | StepProgressEvent
  | StepFinishedEvent
  | PhaseFinishedEvent
  | RollbackStartedEvent
  | RollbackFinishedEvent
  | ApprovalEvent
  | LogEvent
  | WarningEvent
  | RunFinishedEvent;

export type RunEventType = RunEvent['type'];

/** Distributive Omit, so `emit({type: 'step.started', ...})` type-checks per event kind. */
export type EventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'ts' | 'run'> : never) : never;

export type EventListener = (event: RunEvent) => void;
