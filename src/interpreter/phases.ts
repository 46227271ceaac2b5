/**
 * The phases of one runbook level, in order: phase.started, guard, budget timer, the step graph,
 * the phase's finally (deferred until after rollback when the phase failed), phase.finished.
 */
import type { PhaseStatus } from './events.js';
import { UNKNOWN, stringifyValue } from '../dsl/expr/index.js';
import { evaluateBare, evaluateValue, locateError } from './resolve.js';
import { runSection } from './scheduler.js';
import { phaseCtxOf, type Level, type RunContext } from './context.js';
import { formatMs } from './timers.js';
import { stepAddress } from './address.js';

export async function runPhases(ctx: RunContext, level: Level): Promise<void> {
  for (const ph of level.model.phases) {
    const phase = phaseCtxOf(level, ph);
    // Resume: what the dead process knew of this phase ('started' when it was running).
    const known = ctx.replay.phases.get(phase.fullId);
    if (known === 'succeeded' || known === 'skipped') continue; // its finally ran
    if (ctx.stoppingIn(level)) {
      // A phase the dead process started while (or before) the run failed: its finally still runs, after the rollback.
      if (known && ph.finally.length) ctx.deferredFinally.push({ level, steps: ph.finally, phase });
      // It was running when the process died and cannot go on: close it as a stopped phase would be.
      if (known === 'started') {
        const duration = Date.now() - (ctx.replay.phaseStarts.get(phase.fullId) ?? Date.now());
        ctx.emitter.emit({
          type: 'phase.finished',
          phase: phase.fullId,
          status: ctx.failure ? 'failed' : 'cancelled',
          duration_ms: duration,
          ...(ph.budget_ms !== undefined ? { budget_ms: ph.budget_ms } : {}),
          within_budget: ph.budget_ms === undefined ? null : duration <= ph.budget_ms,
        });
      }
      if (known) continue;
      break;
    }
    const allSteps = [...ph.steps, ...ph.finally];
    if (known !== 'started') {
      ctx.emitter.emit({ type: 'phase.started', phase: phase.fullId, ...(ph.title ? { title: ph.title } : {}), ...(ph.budget_ms !== undefined ? { budget_ms: ph.budget_ms } : {}) });
    }

    if (ph.when) {
      let v: unknown;
      try {
        v = evaluateBare(ph.when.value, ctx.scope(level, phase));
      } catch (e) {
        ctx.fail(`phase '${phase.fullId}' when: ${locateError(e, level.model.src, ph.when)}`);
        v = false;
      }
      if (v !== true && !(v === UNKNOWN && ctx.settings.dryRun)) {
        for (const s of allSteps) {
          if (level.states.get(s.id)!.restored) continue;
          ctx.setState(level, s.id, { status: 'skipped' });
          ctx.emitter.emit({ type: 'step.finished', step: stepAddress(level.parent, s.id), phase: phase.fullId, status: 'skipped', attempts: 0, duration_ms: 0, outputs: {}, where: s.where });
        }
        ctx.emitter.emit({ type: 'phase.finished', phase: phase.fullId, status: 'skipped', duration_ms: 0, budget_ms: ph.budget_ms, within_budget: null });
        continue;
      }
    }

    const timer = ph.budget_ms !== undefined ? setTimeout(() => overBudget(ctx, level, phase.fullId, ph.budget_ms!), ph.budget_ms) : undefined;
    try {
      await runSection(ctx, level, ph.steps, phase);
      if (!ctx.stopping) await runSection(ctx, { ...level, signal: undefined }, ph.finally, phase);
      else if (ph.finally.length) ctx.deferredFinally.push({ level, steps: ph.finally, phase });
    } finally {
      if (timer) clearTimeout(timer);
    }
    const duration = Date.now() - phase.startedAt;
    const status: PhaseStatus = ctx.failure ? 'failed' : ctx.aborted || level.signal?.aborted ? 'cancelled' : 'succeeded';
    ctx.emitter.emit({
      type: 'phase.finished',
      phase: phase.fullId,
      status,
      duration_ms: duration,
      ...(ph.budget_ms !== undefined ? { budget_ms: ph.budget_ms } : {}),
      within_budget: ph.budget_ms === undefined ? null : duration <= ph.budget_ms,
    });
  }
}

function overBudget(ctx: RunContext, level: Level, phase: string, budget: number): void {
  const abort = level.model.objectives.on_exceeded === 'abort';
  ctx.emitter.emit({
    type: 'warning',
    code: 'BUDGET_EXCEEDED',
    phase,
    message: `phase '${phase}' passed its budget of ${formatMs(budget)}${abort ? ': aborting (on_exceeded: abort)' : ''}`,
  });
  if (abort) ctx.fail(`phase '${phase}' exceeded its budget of ${formatMs(budget)}`);
}

/** `measure:` values, evaluated at the end of a level (errors become null plus a warning). */
export function evaluateMeasures(ctx: RunContext, level: Level): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, loc] of Object.entries(level.model.measure)) {
    try {
      const v = evaluateValue(loc.value, ctx.scope(level));
      out[name] = v === UNKNOWN ? null : v;
    } catch (e) {
      out[name] = null;
      ctx.emitter.emit({ type: 'warning', code: 'MEASURE', message: `measure.${name}: ${locateError(e, level.model.src, loc)}` });
    }
  }
  return out;
}

export { stringifyValue };
