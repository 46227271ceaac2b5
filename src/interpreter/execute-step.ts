/**
 * One step's life: guard → operator gates (--step, confirm) → for_each items → attempts (timeout,
 * retry with backoff, until polling) → expect → outputs → one `step.finished`. Failures ask the
 * operator (interactive) or fail the run (`on_failure: abort`).
 */
import type { BodyModel, StepModel } from '../dsl/model.js';
import type { Scope } from '../dsl/expr/index.js';
import { UNKNOWN, stringifyValue } from '../dsl/expr/index.js';
import type { StepStatus } from './events.js';
import { stepType } from '../steps/registry.js';
import { evaluateBare, locateError, resolveValue } from './resolve.js';
import { childSignal, StepTimeout } from './timers.js';
import { journalResult } from './state.js';
import { renderBody } from './render.js';
import { renderPromptBody } from './prompt-body.js';
import { attemptLoop, type AttemptOutcome } from './attempt.js';
import type { Level, PhaseCtx, RunContext } from './context.js';

/** Runs a step of a section to its end. Never throws: everything becomes the step's status. */
export async function executeStep(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx): Promise<void> {
  const state = level.states.get(s.id)!;
  if (state.restored) return;
  const fullId = level.prefix + s.id;
  // Reset once the operator gates are passed: time spent at a prompt is not the step's duration.
  let started = Date.now();
  const finish = (o: Partial<AttemptOutcome> & { status: StepStatus }) => {
    const duration = Date.now() - started;
    ctx.setState(level, s.id, {
      status: o.status,
      result: o.result ?? null,
      outputs: o.outputs ?? {},
      error: o.error ?? null,
      attempts: o.attempts ?? 0,
      duration,
    });
    ctx.emitter.emit({
      type: 'step.finished',
      step: fullId,
      phase: phase.fullId,
      status: o.status,
      attempts: o.attempts ?? 0,
      duration_ms: duration,
      outputs: ctx.settings.dryRun ? {} : (o.outputs ?? {}),
      ...(o.error ? { error: o.error } : {}),
      ...(o.result !== undefined && o.result !== null && o.result !== UNKNOWN ? { result: journalResult(o.result) } : {}),
      ...detachedOf(o.result),
      where: s.where,
      ...(level.depth ? { depth: level.depth } : {}),
    });
  };
  if (ctx.stoppingIn(level)) return; // not started: stays pending

  // Resume: a step that was running when the process died runs again only if it is idempotent
  // (a sub-runbook step re-enters its child, whose own steps decide), else the operator decides.
  if (ctx.inflight.has(fullId) && !s.idempotent && s.type !== 'runbook') {
    // Usually decided once before the run continued (Runner.decideInflight); steps it could not
    // resolve (a sub-runbook named by an expression) are asked here.
    let action = ctx.inflightDecisions.get(fullId);
    if (!action) {
      try {
        const answer = await ctx.decider.decide({ kind: 'inflight', step: fullId }, ctx.activeSignal);
        action = answer.kind === 'inflight' ? answer.action : 'skip';
      } catch (e) {
        return failStep(ctx, s, fullId, finish, { status: 'failed', error: (e as Error).message, attempts: 0 });
      }
      ctx.emitter.emit({ type: 'approval', step: fullId, decision: action, by: ctx.decider.user, message: 'was running when the process died' });
    }
    if (action === 'skip') {
      // Decision: it did run (partly) in the dead process, so a later failure still rolls it back.
      const st = level.states.get(s.id)!;
      ctx.markStarted(level, st);
      st.inflightSkipped = true;
      return finish({ status: 'skipped', error: 'was running when the process died; not run again (--skip-inflight)' });
    }
  }

  const scope = ctx.scope(level, phase);
  if (s.when) {
    let v: unknown;
    try {
      v = evaluateBare(s.when.value, scope);
    } catch (e) {
      return failStep(ctx, s, fullId, finish, { status: 'failed', error: `when: ${locateError(e, level.model.src, s.when)}`, attempts: 0 });
    }
    if (v === UNKNOWN && ctx.settings.dryRun) {
      ctx.emitter.emit({ type: 'step.output', step: fullId, stream: 'info', text: `guard unknown in a dry run: ${stringifyValue(s.when.value)}` });
    } else if (v !== true) {
      if (v !== false && v !== null) {
        return failStep(ctx, s, fullId, finish, { status: 'failed', error: `when: expected a boolean, got ${stringifyValue(v)}`, attempts: 0 });
      }
      return finish({ status: 'skipped' });
    }
  }

  if (ctx.settings.stepMode) {
    const resolved = safeResolve(s, scope, true);
    // the prompt goes to the screen, not through the emitter: mask it here
    const rendered = ctx.emitter.masker.mask(renderBody(s.type, resolved));
    const body = renderPromptBody(s.type, resolved, ctx.emitter.masker);
    const answer = await ctx.decider.decide({ kind: 'step', step: fullId, title: s.title, rendered, body }, ctx.activeSignal).catch(() => undefined);
    if (!answer || answer.kind !== 'step') return;
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: answer.action, by: ctx.decider.user });
    if (answer.action === 'skip') return finish({ status: 'skipped' });
    if (answer.action === 'abort') {
      ctx.abort(ctx.decider.user, true);
      return;
    }
    if (answer.action === 'continue') ctx.settings.stepMode = false;
  }

  if (s.confirm && !(await confirmGate(ctx, fullId, s.title ?? `run step '${s.id}'`, undefined, undefined, renderPromptBody(s.type, safeResolve(s, scope, true), ctx.emitter.masker)))) {
    return failStep(ctx, s, fullId, finish, { status: 'failed', error: notApprovedMessage(ctx), attempts: 0 });
  }
  if (ctx.stoppingIn(level)) return;
  started = Date.now();

  // for_each: the body runs per item; outputs and result become lists in item order.
  let items: unknown[] | undefined;
  if (s.for_each) {
    try {
      const v = evaluateBare(s.for_each.value, scope);
      if (v === UNKNOWN && ctx.settings.dryRun) items = [UNKNOWN];
      else if (!Array.isArray(v)) throw new Error(`for_each must give a list, got ${stringifyValue(v)}`);
      else items = v;
    } catch (e) {
      return failStep(ctx, s, fullId, finish, { status: 'failed', error: `for_each: ${locateError(e, level.model.src, s.for_each)}`, attempts: 0 });
    }
  }

  const state0 = level.states.get(s.id)!;
  ctx.markStarted(level, state0);
  ctx.setState(level, s.id, { status: 'running' });

  let outcome: AttemptOutcome;
  for (;;) {
    if (!items) {
      outcome = await attemptLoop(ctx, level, s, phase, fullId, {});
    } else {
      outcome = await runItems(ctx, level, s, phase, fullId, items);
    }
    if (outcome.status !== 'failed' && outcome.status !== 'timed_out') break;
    if (s.on_failure === 'continue' || ctx.stopping || !ctx.decider.interactive) break;
    // Interactive: the operator decides before the run fails.
    const answer = await ctx.decider
      .decide({ kind: 'failure', step: fullId, error: outcome.error ?? 'failed', where: s.where }, ctx.activeSignal)
      .catch(() => undefined);
    if (!answer || answer.kind !== 'failure') break;
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: answer.action, by: ctx.decider.user, message: outcome.error ?? undefined });
    if (answer.action === 'retry') continue;
    if (answer.action === 'skip') return finish({ ...outcome, status: 'skipped' });
    if (answer.action === 'ignore') return finish(outcome);
    break;
  }
  if (outcome.status === 'failed' || outcome.status === 'timed_out') return failStep(ctx, s, fullId, finish, outcome);
  finish(outcome);
}

function failStep(
  ctx: RunContext,
  s: StepModel,
  fullId: string,
  finish: (o: Partial<AttemptOutcome> & { status: StepStatus }) => void,
  o: Partial<AttemptOutcome> & { status: StepStatus },
): void {
  finish(o);
  if (s.on_failure !== 'continue') ctx.fail(`step '${fullId}' ${o.status === 'timed_out' ? 'timed out' : 'failed'}: ${o.error ?? ''}`, fullId);
}

const notApprovedMessage = (ctx: RunContext) =>
  ctx.decider.interactive ? 'not approved by the operator' : 'needs approval: run with --yes to approve non-interactively';

/** A `confirm: true` step or `approve` gate. Journaled as an `approval` event. */
export async function confirmGate(ctx: RunContext, fullId: string, message: string, timeoutMs?: number, signal = ctx.activeSignal, body?: string): Promise<boolean> {
  if (ctx.settings.dryRun && !ctx.decider.interactive) {
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: 'dry-run', by: ctx.decider.user, message });
    return true;
  }
  if (ctx.settings.yes) {
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: 'approved', by: `${ctx.decider.user} (--yes)`, message });
    return true;
  }
  const { signal: s, dispose } = childSignal(signal, timeoutMs);
  try {
    const answer = await ctx.decider.decide({ kind: 'confirm', step: fullId, message, timeout_ms: timeoutMs, ...(body ? { body } : {}) }, s);
    const ok = answer.kind === 'confirm' && answer.approved;
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: ok ? 'approved' : 'rejected', by: ctx.decider.user, message });
    return ok;
  } catch (e) {
    if (s.reason instanceof StepTimeout) {
      ctx.emitter.emit({ type: 'approval', step: fullId, decision: 'timeout', by: ctx.decider.user, message });
    }
    return false;
  } finally {
    dispose();
  }
}

async function runItems(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx, fullId: string, items: unknown[]): Promise<AttemptOutcome> {
  const results: AttemptOutcome[] = new Array(items.length);
  const state = level.states.get(s.id)!;
  state.startedItems = [];
  let next = 0;
  // Decision: with on_failure: abort, once an item has failed no new item starts (items already
  // running finish): the step fails anyway, and a recovery should not keep changing more targets.
  // With on_failure: continue every item runs (best effort) and the step fails if any failed.
  let itemFailed = false;
  const worker = async () => {
    while (next < items.length && !ctx.stoppingIn(level) && !(itemFailed && s.on_failure === 'abort')) {
      const index = next++;
      state.startedItems!.push({ index, item: items[index] });
      const r = await attemptLoop(ctx, level, s, phase, fullId, { item: items[index], index }, index);
      results[index] = r;
      if (r.status === 'failed' || r.status === 'timed_out') itemFailed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.concurrency, items.length) }, worker));
  const done = results.filter(Boolean);
  const outputs: Record<string, unknown[]> = {};
  for (const name of Object.keys(s.outputs)) outputs[name] = results.map((r) => r?.outputs[name] ?? null);
  // An item's own failure outranks a timeout, which outranks being cancelled by the run.
  const worst = (['failed', 'timed_out', 'cancelled'] as StepStatus[]).find((st) => done.some((r) => r.status === st));
  const failedItems = results.map((r, i) => (r && r.status !== 'succeeded' ? `item ${i}: ${r.error}` : null)).filter(Boolean);
  const status: StepStatus = worst ?? (done.length < items.length ? 'cancelled' : 'succeeded');
  return {
    status,
    result: results.map((r) => r?.result ?? null),
    outputs,
    error: failedItems.length ? failedItems.join('; ') + (done.length < items.length ? `; ${items.length - done.length} item(s) not started` : '') : null,
    attempts: Math.max(0, ...done.map((r) => r.attempts)),
  };
}

/** The body as `plan` shows it: what is known resolved, shell scripts with their values quoted. */
function safeResolve(b: BodyModel, scope: Scope, keepUnknown: boolean): unknown {
  try {
    return resolveValue(b.body, scope, { keepUnknown, quoteFields: stepType(b.type)?.shellQuoted, urlFields: stepType(b.type)?.urlFields, display: true });
  } catch {
    return b.body;
  }
}

/** `shell.detach`: the pids left running on purpose, recorded in step.finished.detached (spec §12). */
function detachedOf(result: unknown): { detached?: number[] } {
  const d = result && typeof result === 'object' ? (result as { detached?: unknown }).detached : undefined;
  return Array.isArray(d) ? { detached: d as number[] } : {};
}
