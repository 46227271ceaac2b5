/**
 * The run's events: exactly the lines of `journal.jsonl` (spec §6), streamed by `--json`, read by the
 * TUI, the plain `--no-tui` printer, `resume` and the reports. Every event has `ts`, `type` and `run`.
 *
 * Every `step` is an instance address (spec §8, address.ts): `restore`, a for_each item `each[1]`,
 * a step of a sub-runbook run by an instance `each[1].check`; its phases are `each[1]/<phase id>`;
 * `depth` tells how deep they are nested (0 = top level). Events of an item also carry `index` and
 * `item` (masked like everything else).
 */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'cancelled';
export type RunStatus = 'succeeded' | 'rolled_back' | 'rollback_failed' | 'failed' | 'aborted';
export type PhaseStatus = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

interface Base {
  ts: string;
  run: string;
}

/** An item instance's events: which item (spec §8). */
interface ItemTags {
  /** for_each: which item this instance works on, and its value (masked). */
  index?: number;
  item?: unknown;
  /** A host instance of a fan-out (spec §9). */
  host?: string;
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
  /** A real run marked as a DR drill (`run --drill`); absent for an incident. */
  drill?: boolean;
  /** The runbook's `kind` (recovery, backup, restore-test, maintenance), when it declares one. */
  kind?: string;
  /** Phases and their steps as planned, so viewers can draw the whole run from the first event. */
  outline: OutlinePhase[];
  pid: number;
  host: string;
  user: string;
  /** Present when this process continues an earlier one (`runbook resume`). */
  resumed?: boolean;
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
  /** Content hash of the step's definition: resume lists (and refuses) steps changed since the crash. */
  hash?: string;
}

export interface PhaseStartedEvent extends Base {
  type: 'phase.started';
  phase: string;
  title?: string;
  budget_ms?: number;
}

export interface StepStartedEvent extends Base, ItemTags {
  type: 'step.started';
  step: string;
  phase: string;
  attempt: number;
  max_attempts?: number;
  step_type?: string;
  title?: string;
  depth?: number;
}

export interface StepOutputEvent extends Base, ItemTags {
  type: 'step.output';
  step: string;
  stream: 'stdout' | 'stderr' | 'info';
  text: string;
}

/** What a step printed beyond its `output_limit` on one stream: counted, not journaled (spec §12). */
export interface StepOutputTruncatedEvent extends Base, ItemTags {
  type: 'step.output_truncated';
  step: string;
  stream: 'stdout' | 'stderr' | 'info';
  /** Bytes (UTF-8, after masking) not journaled. */
  bytes: number;
}

/** Live transfer/poll progress (s3 bytes, until polls, docker state). Throttled by the interpreter. */
export interface StepProgressEvent extends Base, ItemTags {
  type: 'step.progress';
  step: string;
  bytes?: number;
  total?: number;
  rate?: number;
  message?: string;
}

export interface StepFinishedEvent extends Base, ItemTags {
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
  /** The aggregate step.finished of an `on:` step (spec §9): the ssh connection; `items` then counts its hosts. */
  on?: string;
  /** The aggregate step.finished of a for_each step: how its items ended. */
  items?: { succeeded: number; failed: number; timed_out: number; skipped: number; cancelled: number };
  /** Which secret each `***` of `outputs`/`result`/`item` stands for (secret-refs.ts), so resume rebuilds them. */
  secret_refs?: import('./secret-refs.js').SecretRef[];
  /** Resume: was running when the process died and was not run again (--skip-inflight): it may have acted. */
  skipped_inflight?: boolean;
  /** Resume: `--mark-done`, an operator finished it by hand. */
  marked_done?: boolean;
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

export interface RollbackStartedEvent extends Base, ItemTags {
  type: 'rollback.started';
  step: string;
}

export interface RollbackFinishedEvent extends Base, ItemTags {
  type: 'rollback.finished';
  step: string;
  status: StepStatus;
  error?: string;
  duration_ms?: number;
}

export interface ApprovalEvent extends Base, ItemTags {
  type: 'approval';
  step: string;
  /** e.g. approved, rejected, run, skip, retry, ignore, abort, rollback_all, rollback_none, rerun, timeout, marked_done. */
  decision: string;
  by: string;
  message?: string;
}

export interface LogEvent extends Base, ItemTags {
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
  /** Instances (and rollbacks, `rollback: true`) that were running when the process died, and what was decided. */
  inflight: { step: string; decision: 'rerun' | 'skip'; rollback?: boolean }[];
  /** Steps whose definition changed since the crash (resumed with --accept-changes). */
  changed?: string[];
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
