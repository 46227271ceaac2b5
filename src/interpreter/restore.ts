/**
 * Resume: what a crashed process finished is applied to each level (top or a sub-runbook instance)
 * as it is created, keyed by instance address (instances.ts). Finished instances become restored
 * state and never run again; those that started are registered for rollback in their original order
 * of start; finished sub-runbook instances are reopened (not run) so their children can be rolled
 * back and their deferred finally steps still run.
 */
import { resolve } from 'node:path';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { StepModel } from '../dsl/model.js';
import type { StepFinishedEvent, StepStatus } from './events.js';
import { instanceKey, phaseAddress, stepAddress, stepPath } from './address.js';
import { restoreSecretRefs } from './secret-refs.js';
import { evaluateBare, resolveValue } from './resolve.js';
// A cycle (control.ts opens levels through restoreLevel): both are used only at call time.
import { openSubRunbook } from './control.js';
import { phaseCtxOf, type Level, type RunContext } from './context.js';
import { scopeView } from './state.js';

export interface RestoredOutcome {
  status: StepStatus;
  outputs: Record<string, unknown>;
  result: unknown;
  error: string | null;
  attempts: number;
  duration: number | null;
  item?: unknown;
}

/**
 * A finished instance's outcome as the dead process had it: masked secrets rebuilt from `secret_refs`
 * (named as the instance's level names them: a sub-runbook declares its own secrets).
 */
export function restoredOutcome(ctx: RunContext, level: Level, e: StepFinishedEvent): RestoredOutcome {
  const root: Record<string, unknown> = { outputs: e.outputs ?? {}, result: e.result ?? null, ...(e.item !== undefined ? { item: e.item } : {}) };
  const lost = restoreSecretRefs(root, e.secret_refs, level.secrets ?? ctx.settings.secrets);
  if (lost.length) {
    ctx.emitRestored({
      type: 'warning',
      code: 'SECRET_NOT_RESTORED',
      step: e.step,
      message: `step '${e.step}': ${lost.join(', ')} held a secret that cannot be rebuilt from the journal (is the secret still set?); later steps see '***' there`,
    });
  }
  return {
    status: e.status,
    outputs: root.outputs as Record<string, unknown>,
    result: root.result,
    error: e.error ?? null,
    attempts: e.attempts,
    duration: e.duration_ms,
    ...(root.item !== undefined ? { item: root.item } : {}),
  };
}

/** Apply restored instances to a level (top or a sub-runbook instance) as it is created. */
export function restoreLevel(ctx: RunContext, level: Level): void {
  const r = ctx.replay;
  if (!r.instances.size) return;
  const failures: string[] = [];
  const reopen: { m: StepModel; address: string; extra: Record<string, unknown> }[] = [];
  for (const [id, m] of level.model.steps) {
    const address = stepAddress(level.parent, id);
    const rec = r.instances.get(address);
    if (m.for_each || m.on) restoreItems(ctx, level, m, address, reopen);
    if (!rec?.finished || rec.inflight) continue;
    const o = restoredOutcome(ctx, level, rec.finished);
    const state = ctx.setState(level, id, { ...o, restored: true });
    if (rec.seq !== undefined && !m.for_each && !m.on) {
      const run = ctx.markStarted(level, m, address);
      run.status = o.status;
      run.self = scopeView(state);
      run.inflightSkipped = !!rec.finished.skipped_inflight;
      run.rollbackDone = !!rec.rollbackFinished;
      run.rollbackStatus = rec.rollbackFinished?.status;
      if (m.type === 'runbook') reopen.push({ m, address, extra: {} });
    }
    if ((o.status === 'failed' || o.status === 'timed_out') && m.on_failure === 'abort') {
      failures.push(`step '${address}' ${o.status === 'timed_out' ? 'timed out' : 'failed'}: ${o.error ?? ''}`);
    }
  }
  if (failures.length) ctx.fail(failures[0], undefined);
  if (ctx.stopping) settleInflight(ctx, level, reopen);
  for (const x of reopen) if (r.parents.has(x.address)) reopenSubRunbook(ctx, level, x.m, x.address, x.extra);
}

/**
 * The run had already failed when the process died: instances that were running then are not run
 * again (no new work starts in a failing run). They did start, so they are recorded as cancelled and
 * rolled back like any instance that started.
 */
function settleInflight(ctx: RunContext, level: Level, reopen: { m: StepModel; address: string; extra: Record<string, unknown> }[]): void {
  const r = ctx.replay;
  for (const [id, m] of level.model.steps) {
    // Finally steps still run after the rollback: an in-flight one is decided like any instance.
    if (m.section !== 'steps') continue;
    const address = stepAddress(level.parent, id);
    const recs = m.for_each || m.on ? (r.items.get(address) ?? []) : [r.instances.get(address)];
    let items: unknown[] | undefined;
    for (const rec of recs) {
      if (!rec?.inflight || rec.seq === undefined || ctx.instanceRun(rec.address)) continue;
      const index = instanceKey(rec.address);
      let item: { index: number; item: unknown } | undefined;
      if (m.for_each && typeof index === 'number') {
        items ??= itemsOf(ctx, level, m);
        item = { index, item: items?.[index] ?? null };
        ctx.setTags(rec.address, item);
      } else if (m.on && index !== undefined) ctx.setTags(rec.address, { host: String(index) });
      const run = ctx.markStarted(level, m, rec.address, item);
      const error = 'was running when the process died, after the run had failed: not run again';
      run.status = 'cancelled';
      run.self = { status: 'cancelled', outputs: {}, result: null, error, attempts: 0, duration: null };
      if (!m.for_each && !m.on) ctx.setState(level, id, { status: 'cancelled', error, restored: true });
      ctx.emitRestored({
        type: 'step.finished',
        step: rec.address,
        ...ctx.tagsOf(rec.address),
        phase: phaseAddress(level.parent, m.phase),
        status: 'cancelled',
        attempts: 0,
        duration_ms: 0,
        outputs: {},
        error,
        where: m.where,
        ...(level.depth ? { depth: level.depth } : {}),
      });
      if (m.type === 'runbook') reopen.push({ m, address: rec.address, extra: item ? { item: item.item, index: item.index } : {} });
    }
  }
}

function itemsOf(ctx: RunContext, level: Level, m: StepModel): unknown[] | undefined {
  try {
    const v = evaluateBare(m.for_each!.value, ctx.scope(level));
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Finished items of a for_each step: registered for rollback (with their item) in order of start. */
function restoreItems(ctx: RunContext, level: Level, m: StepModel, address: string, reopen: { m: StepModel; address: string; extra: Record<string, unknown> }[]): void {
  for (const rec of ctx.replay.items.get(address) ?? []) {
    const index = instanceKey(rec.address);
    if (rec.seq === undefined || !rec.finished || rec.inflight) continue;
    if (m.on ? typeof index !== 'string' && typeof index !== 'number' : typeof index !== 'number') continue;
    const o = restoredOutcome(ctx, level, rec.finished);
    // A host name may look like a number (`[1]`): the event's own tags say what the key is.
    const host = rec.finished.host;
    const item = host === undefined && typeof index === 'number' ? { index, item: o.item ?? null } : undefined;
    const run = ctx.markStarted(level, m, rec.address, item);
    ctx.setTags(rec.address, item ?? { host: host ?? String(index) });
    run.status = o.status;
    run.self = { status: o.status, outputs: o.outputs, result: o.result, error: o.error, attempts: o.attempts, duration: o.duration };
    run.inflightSkipped = !!rec.finished.skipped_inflight;
    run.rollbackDone = !!rec.rollbackFinished;
    run.rollbackStatus = rec.rollbackFinished?.status;
    if (m.type === 'runbook' && item) reopen.push({ m, address: rec.address, extra: { item: item.item, index } });
  }
}

/**
 * A sub-runbook instance the dead process finished: its level is rebuilt (params resolved again from
 * the restored scope) without running anything, so the instances inside it are known to rollback,
 * and, when the run is failing, the finally steps of its phases that ran still run after the rollback.
 */
function reopenSubRunbook(ctx: RunContext, level: Level, m: StepModel, address: string, extra: Record<string, unknown>): void {
  let body: { file: string; params?: Record<string, unknown> };
  try {
    const scope = ctx.scope(level, phaseCtxOf(level, { id: m.phase }), extra);
    body = resolveValue(m.body, scope) as typeof body;
  } catch (e) {
    ctx.emitRestored({ type: 'warning', code: 'RESUME_REOPEN', step: address, message: `cannot reopen sub-runbook of '${address}' for rollback: ${(e as Error).message}` });
    return;
  }
  let child: Level;
  try {
    child = openSubRunbook(ctx, level, address, body);
  } catch (e) {
    ctx.emitRestored({ type: 'warning', code: 'RESUME_REOPEN', step: address, message: `cannot reopen sub-runbook of '${address}' for rollback: ${(e as Error).message}` });
    return;
  }
  ctx.extraPools.push(child.connections);
  if (!ctx.stopping) return;
  let anyStarted = false;
  for (const ph of child.model.phases) {
    const st = ctx.replay.phases.get(phaseAddress(child.parent, ph.id));
    if (!st) continue;
    anyStarted = true;
    if (st !== 'succeeded' && st !== 'skipped' && ph.finally.length) ctx.deferredFinally.push({ level: child, steps: ph.finally, phase: phaseCtxOf(child, ph) });
  }
  if (anyStarted && child.model.finally.length) ctx.deferredFinally.push({ level: child, steps: child.model.finally, phase: phaseCtxOf(child, { id: 'finally' }) });
}

/**
 * The model of a step by its address (`each[1].s2` inside sub-runbooks), when it can be known
 * before running: sub-runbooks named by a literal file. Undefined otherwise.
 */
export function stepModelOf(loaded: LoadedRunbook, address: string): StepModel | undefined {
  const parts = stepPath(address);
  let cur: LoadedRunbook | undefined = loaded;
  for (let i = 0; i < parts.length; i++) {
    const step = cur?.model?.steps.get(parts[i]);
    if (!step || i === parts.length - 1) return step;
    const file = (step.body as { file?: unknown } | undefined)?.file;
    if (step.type !== 'runbook' || typeof file !== 'string' || file.includes('${{')) return undefined;
    cur = cur!.children.get(resolve(cur!.model!.baseDir, file));
  }
  return undefined;
}

