/**
 * Journal events → the one `RunReport` model that the md, json, junit and prometheus formats render.
 * Pure: the same events always give the same report.
 */
import { RunbookError } from '../dsl/errors.js';
import type { OutlineStep, RunEvent, RunFinishedEvent, RunStartedEvent } from '../interpreter/events.js';
import { formatDuration } from './format.js';
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
      kind: started.dry_run ? 'drill' : 'incident',
      dry_run: started.dry_run,
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
  return { id: s.id, phase, title: s.title, type: s.type, depth: 0, status: 'pending', attempts: 0, outputs: {}, where: s.where, rollback: null };
}

function phasesOf(c: Collected): PhaseReport[] {
  const phases = [...c.phases.values()];
  for (const p of phases) p.steps = [...c.steps.values()].filter((s) => s.phase === p.id).map((s) => s.id);
  return phases;
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
