/**
 * Journal events → the one `RunReport` model that the md, json, junit and prometheus formats render.
 * Pure: the same events always give the same report.
 */
import { RunbookError } from '../dsl/errors.js';
import type { OutlineStep, RunEvent, RunFinishedEvent, RunStartedEvent } from '../interpreter/events.js';
import { treeParent } from '../interpreter/address-tree.js';
import { formatDuration, msBetween } from './format.js';
import type { PhaseReport, RpoResult, RtoResult, RunReport, StepReport } from './types.js';
import { collectRunEvents, type Collected } from './collect.js';

export function summarizeRun(events: RunEvent[]): RunReport {
  const started = events.find((e): e is RunStartedEvent => e.type === 'run.started');
  if (!started) {
    throw new RunbookError({ code: 'JOURNAL_EMPTY', message: 'the journal has no run.started event' });
  }
  const c = collectRunEvents(started, events);
  addUnstartedSteps(started, c);
  const finished = c.finished;
  const status = finished?.status ?? 'incomplete';
  return {
    run: {
      id: started.run,
      runbook: started.runbook,
      title: started.title,
      severity: started.severity,
      file: started.file,
      kind: started.drill ? 'drill' : started.dry_run ? 'dry_run' : 'incident',
      dry_run: started.dry_run,
      drill: started.drill === true,
      status,
      started_at: started.ts,
      finished_at: finished?.ts,
      duration_ms: finished?.duration_ms,
      error: finished?.error,
      host: started.host,
      user: started.user,
      pid: started.pid,
      resumes: c.resumes,
    },
    params: started.params ?? {},
    objectives: started.objectives ?? { on_exceeded: 'warn' },
    rto: rtoOf(started, finished),
    rpo: rpoOf(started, finished),
    measures: finished?.measures ?? {},
    phases: phasesOf(c),
    steps: [...c.steps.values()],
    rollbacks: c.rollbacks,
    decisions: c.decisions,
    notes: c.notes,
    warnings: c.warnings,
    timeline: c.timeline,
  };
}

/** Outline steps that never started (the run failed or stopped before them) are `pending`. */
function addUnstartedSteps(started: RunStartedEvent, c: Collected): void {
  for (const phase of started.outline ?? []) {
    for (const s of phase.steps) {
      if (!c.steps.has(s.id)) c.steps.set(s.id, pendingStep(s, phase.id));
    }
  }
}

function pendingStep(s: OutlineStep, phase: string): StepReport {
  return { id: s.id, phase, top_phase: phase, title: s.title, type: s.type, depth: 0, status: 'pending', attempts: 0, outputs: {}, where: s.where, rollback: null };
}

/**
 * The run's phases (a sub-runbook's phases belong to the step instance that runs them, not here),
 * each with every step, instance and sub-step under it. A section without phase events of its own
 * (the run's `finally`) gets its status and times from its steps.
 */
function phasesOf(c: Collected): PhaseReport[] {
  const steps = [...c.steps.values()];
  for (const s of steps) s.top_phase = topPhaseOf(c, s);
  const phases = [...c.phases.values()].filter((p) => !p.id.includes('/'));
  for (const s of steps) {
    if (!phases.some((p) => p.id === s.top_phase)) phases.push({ id: s.top_phase, status: 'pending', within_budget: null, steps: [] });
  }
  for (const p of phases) {
    p.steps = steps.filter((s) => s.top_phase === p.id).map((s) => s.id);
    if (p.started_at === undefined && p.status === 'pending') fromSteps(p, steps.filter((s) => s.top_phase === p.id));
  }
  return phases;
}

/** The top-level phase of a step: that of the top-level step its address is under. */
function topPhaseOf(c: Collected, s: StepReport): string {
  let root = s.id;
  for (let p = treeParent(root); p !== undefined; p = treeParent(p)) root = p;
  return c.steps.get(root)?.phase ?? s.phase;
}

function fromSteps(p: PhaseReport, steps: StepReport[]): void {
  const ran = steps.filter((s) => s.started_at !== undefined);
  if (!ran.length) return;
  const first = ran.reduce((a, b) => (Date.parse(b.started_at!) < Date.parse(a.started_at!) ? b : a));
  const end = Math.max(...ran.map((s) => Date.parse(s.finished_at ?? s.started_at!)));
  p.started_at = first.started_at;
  p.start_offset_ms = first.start_offset_ms;
  p.duration_ms = msBetween(first.started_at!, new Date(end).toISOString());
  const failed = ran.some((s) => s.status === 'failed' || s.status === 'timed_out');
  p.status = failed ? 'failed' : ran.some((s) => s.status === 'running') ? 'running' : 'succeeded';
}

function rtoOf(started: RunStartedEvent, finished: RunFinishedEvent | undefined): RtoResult {
  // `run.finished.rto_ms` is the objective, as `run.started` states it; what was achieved is the
  // duration of a run that succeeded (a failed recovery achieved no recovery time).
  const objective_ms = started.objectives?.rto_ms ?? finished?.rto_ms;
  if (!finished) return { objective_ms, met: null };
  const achieved_ms = finished.status === 'succeeded' ? finished.duration_ms : undefined;
  let met = finished.rto_met;
  if (met === null || met === undefined) {
    met = objective_ms === undefined ? null : achieved_ms !== undefined && achieved_ms <= objective_ms;
  }
  return { objective_ms, achieved_ms, met };
}

function rpoOf(started: RunStartedEvent, finished: RunFinishedEvent | undefined): RpoResult {
  const objective_ms = started.objectives?.rpo_ms;
  const measured_ms = toMs(finished?.measures?.rpo);
  const met = objective_ms === undefined || measured_ms === undefined ? null : measured_ms <= objective_ms;
  let data_loss: string;
  if (measured_ms === undefined) data_loss = started.dry_run ? 'No (dry run: nothing was changed)' : 'Unknown (RPO not measured)';
  else if (measured_ms === 0) data_loss = 'No';
  else data_loss = `Yes — up to ${formatDuration(measured_ms)} of writes before the incident`;
  return { objective_ms, measured_ms, met, data_loss };
}

/** `measure.rpo` is milliseconds: a number, or a numeric string from an interpolated output. */
function toMs(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}
