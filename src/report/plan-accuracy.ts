/**
 * Plan against actual (issue 15): what `plan` predicted when a run started (saved as
 * `<state-dir>/runs/<id>/plan.json`) compared with what its journal says happened: guards predicted
 * true/false against taken, predicted against actual duration per phase, and the critical path.
 * `runbook history --accuracy` aggregates the prediction error over past runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../interpreter/plan.js';
import type { RunEvent } from '../interpreter/events.js';
import { formatDuration } from './format.js';

/** The part of a plan kept with a run: small, and enough to compare. */
export interface SavedPlan {
  version: 1;
  predicted_ms: number;
  predicted_complete: boolean;
  phases: { id: string; predicted_ms: number; complete: boolean }[];
  guards: { step: string; predicted: 'true' | 'false' | 'unknown' }[];
  critical_path: { step: string; estimate_ms: number | null }[];
}

export const PLAN_FILE = 'plan.json';

export function savedPlanOf(plan: Plan): SavedPlan {
  const steps = [...plan.phases.flatMap((p) => [...p.steps, ...p.finally]), ...plan.finally];
  return {
    version: 1,
    predicted_ms: plan.predicted_ms,
    predicted_complete: plan.predicted_complete,
    phases: plan.phases.map((p) => ({ id: p.id, predicted_ms: p.predicted_ms, complete: p.unknown_steps.length === 0 })),
    guards: steps.filter((s) => s.when).map((s) => ({ step: s.id, predicted: s.when!.value })),
    critical_path: plan.phases.flatMap((p) => p.critical_path.map((id) => ({ step: id, estimate_ms: p.steps.find((s) => s.id === id)?.estimate_ms ?? null }))),
  };
}

export function readSavedPlan(stateDir: string, runId: string): SavedPlan | undefined {
  const file = join(stateDir, 'runs', runId, PLAN_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as SavedPlan;
    return p.version === 1 ? p : undefined;
  } catch {
    return undefined;
  }
}

export interface PlanComparison {
  run: { predicted_ms: number; complete: boolean; actual_ms: number | null; error_ms: number | null; error_pct: number | null };
  phases: { id: string; predicted_ms: number; complete: boolean; actual_ms: number | null }[];
  guards: { step: string; predicted: string; taken: boolean | null; right: boolean | null }[];
  critical_path: { step: string; estimate_ms: number | null; actual_ms: number | null }[];
}

export function comparePlan(plan: SavedPlan, events: RunEvent[]): PlanComparison {
  const finished = new Map<string, { status: string; duration_ms?: number }>();
  const phases = new Map<string, number>();
  let runMs: number | null = null;
  for (const e of events as unknown as { type: string; step?: string; phase?: string; status?: string; duration_ms?: number; items?: unknown }[]) {
    if (e.type === 'step.finished' && e.step) finished.set(e.step, { status: e.status ?? '', duration_ms: e.duration_ms });
    if (e.type === 'phase.finished' && e.phase && e.duration_ms !== undefined) phases.set(e.phase, e.duration_ms);
    if (e.type === 'run.finished' && e.duration_ms !== undefined) runMs = e.duration_ms;
  }
  const error_ms = runMs === null ? null : runMs - plan.predicted_ms;
  return {
    run: {
      predicted_ms: plan.predicted_ms,
      complete: plan.predicted_complete,
      actual_ms: runMs,
      error_ms,
      error_pct: error_ms === null || runMs === null || runMs === 0 ? null : Math.round((Math.abs(error_ms) / runMs) * 1000) / 10,
    },
    phases: plan.phases.map((p) => ({ ...p, actual_ms: phases.get(p.id) ?? null })),
    guards: plan.guards.map((g) => {
      const f = finished.get(g.step);
      const taken = f ? f.status !== 'skipped' : null;
      return { step: g.step, predicted: g.predicted, taken, right: taken === null || g.predicted === 'unknown' ? null : (g.predicted === 'true') === taken };
    }),
    critical_path: plan.critical_path.map((c) => ({ ...c, actual_ms: finished.get(c.step)?.duration_ms ?? null })),
  };
}

const d = (ms: number | null, lowerBound = false) => (ms === null ? '—' : `${lowerBound ? '≥ ' : ''}${formatDuration(ms)}`);

/** The markdown section `## Plan Against Actual`. */
export function planSection(c: PlanComparison): string[] {
  const out = ['## Plan Against Actual', ''];
  const err = c.run.error_ms === null ? '—' : c.run.complete ? `${c.run.error_ms >= 0 ? '+' : '−'}${formatDuration(Math.abs(c.run.error_ms))} (${c.run.error_pct}%)` : 'not comparable (the plan had steps without an estimate)';
  out.push('| What | Predicted | Actual | Error |', '| --- | --- | --- | --- |');
  out.push(`| Run | ${d(c.run.predicted_ms, !c.run.complete)} | ${d(c.run.actual_ms)} | ${err} |`);
  for (const p of c.phases) out.push(`| Phase \`${p.id}\` | ${d(p.predicted_ms, !p.complete)} | ${d(p.actual_ms)} | ${p.actual_ms === null || !p.complete ? '—' : `${p.actual_ms - p.predicted_ms >= 0 ? '+' : '−'}${formatDuration(Math.abs(p.actual_ms - p.predicted_ms))}`} |`);
  out.push('');
  if (c.guards.length) {
    out.push('| Guard of step | Predicted | Taken | Right |', '| --- | --- | --- | --- |');
    for (const g of c.guards) out.push(`| \`${g.step}\` | ${g.predicted} | ${g.taken === null ? '— (not reached)' : g.taken ? 'ran' : 'skipped'} | ${g.right === null ? '—' : g.right ? 'yes' : '**no**'} |`);
    out.push('');
  }
  if (c.critical_path.length) {
    out.push(`Critical path (as planned): ${c.critical_path.map((s) => `\`${s.step}\` ${d(s.estimate_ms)} → ${d(s.actual_ms)}`).join(', ')}`, '');
  }
  return out;
}
