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
import { journalResult, scopeView } from './state.js';
import { instanceKey as instanceKeyOf, stepAddress } from './address.js';
import { secretRefsOf } from './secret-refs.js';
import { runItems, type ItemCounts } from './for-each.js';
import { hostsOf, runHosts } from './fan-out.js';
import type { SshHosts } from '../steps/ssh/index.js';
import { renderBody } from './render.js';
import { renderPromptBody } from './prompt-body.js';
import { attemptLoop, type AttemptOutcome } from './attempt.js';
import type { InstanceRun, Level, PhaseCtx, RunContext } from './context.js';

/** Runs a step of a section to its end. Never throws: everything becomes the step's status. */
export async function executeStep(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx): Promise<void> {
  const state = level.states.get(s.id)!;
  if (state.restored) return;
  const fullId = stepAddress(level.parent, s.id);
  // Reset once the operator gates are passed: time spent at a prompt is not the step's duration.
  let started = Date.now();
  let run: InstanceRun | undefined;
  const finish = (o: Partial<AttemptOutcome> & { status: StepStatus }, extra: FinishExtra = {}) => {
    const duration = Date.now() - started;
    const st = ctx.setState(level, s.id, {
      status: o.status,
      result: o.result ?? null,
      outputs: o.outputs ?? {},
      error: o.error ?? null,
      attempts: o.attempts ?? 0,
      duration,
    });
    if (run) {
      run.status = o.status;
      run.self = scopeView(st);
    }
    emitFinished(ctx, level, s, phase, fullId, o, duration, extra);
  };
  if (ctx.stoppingIn(level)) return; // not started: stays pending

  // Resume: an instance that was running when the process died (for_each items and hosts decide per instance).
  if (!s.for_each && !s.on && ctx.replay.instances.get(fullId)?.inflight) {
    const action = await inflightAction(ctx, s, fullId);
    if (action instanceof Error) return failStep(ctx, s, fullId, finish, { status: 'failed', error: action.message, attempts: 0 });
    if (action === 'skip') {
      // Decision: it did run (partly) in the dead process, so a later failure still rolls it back.
      run = ctx.markStarted(level, s, fullId);
      run.inflightSkipped = true;
      return finish({ status: 'skipped', error: INFLIGHT_SKIPPED }, { skipped_inflight: true });
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

  if (s.confirm && !(await confirmGate(ctx, fullId, s.title ?? `run step '${s.id}'`, undefined, undefined, () => renderPromptBody(s.type, safeResolve(s, scope, true), ctx.emitter.masker)))) {
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

  // on: the body runs per host of the connection; result and outputs become maps keyed by host.
  let hosts: SshHosts | undefined;
  if (s.on && !ctx.settings.dryRun) {
    try {
      hosts = await hostsOf(level, s);
    } catch (e) {
      return failStep(ctx, s, fullId, finish, { status: 'failed', error: `on: ${(e as Error).message}`, attempts: 0 });
    }
  }

  if (!items && !hosts) run = ctx.markStarted(level, s, fullId);
  ctx.setState(level, s.id, { status: 'running' });

  let outcome: AttemptOutcome;
  let counts: ItemCounts | undefined;
  let previous: (AttemptOutcome | undefined)[] | undefined;
  for (;;) {
    if (hosts) {
      const r = await runHosts(ctx, level, s, phase, fullId, hosts, previous);
      outcome = r.outcome;
      counts = r.counts;
      previous = r.results;
    } else if (!items) {
      outcome = await attemptLoop(ctx, level, s, phase, fullId, s.on ? { host: UNKNOWN } : {});
    } else {
      const r = await runItems(ctx, level, s, phase, fullId, items, previous);
      outcome = r.outcome;
      counts = r.counts;
      previous = r.results;
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
    if (answer.action === 'skip') return finish({ ...outcome, status: 'skipped' }, { items: counts });
    if (answer.action === 'ignore') return finish(outcome, { items: counts });
    break;
  }
  if (outcome.status === 'failed' || outcome.status === 'timed_out') return failStep(ctx, s, fullId, finish, outcome, { items: counts });
  finish(outcome, { items: counts });
}

export const INFLIGHT_SKIPPED = 'was running when the process died; not run again (--skip-inflight)';

export interface FinishExtra {
  items?: ItemCounts;
  skipped_inflight?: boolean;
}

/** One instance's step.finished (a step, an item, or a for_each step's aggregate), with its secret refs. */
export function emitFinished(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx,
  address: string,
  o: Partial<AttemptOutcome> & { status: StepStatus },
  duration: number,
  extra: FinishExtra = {},
): void {
  const outputs = ctx.settings.dryRun ? {} : (o.outputs ?? {});
  const result = o.result !== undefined && o.result !== null && o.result !== UNKNOWN ? journalResult(o.result) : undefined;
  const tags = ctx.tagsOf(address);
  const refs = ctx.emitter.masker.size ? secretRefsOf({ outputs, result, item: tags.item }, level.secrets ?? ctx.settings.secrets, ctx.emitter.masker) : [];
  ctx.emitter.emit({
    type: 'step.finished',
    step: address,
    ...tags,
    phase: phase.fullId,
    status: o.status,
    attempts: o.attempts ?? 0,
    duration_ms: duration,
    outputs,
    ...(o.error ? { error: o.error } : {}),
    ...(result !== undefined ? { result } : {}),
    ...detachedOf(o.result),
    ...(extra.items ? { items: extra.items, ...(s.on && instanceKeyOf(address) === undefined ? { on: s.on.connection } : {}) } : {}),
    ...(refs.length ? { secret_refs: refs } : {}),
    ...(extra.skipped_inflight ? { skipped_inflight: true } : {}),
    where: s.where,
    ...(level.depth ? { depth: level.depth } : {}),
  });
}

/**
 * Resume: an instance that was running when the process died runs again only if it is idempotent (a
 * sub-runbook instance re-enters its child, whose own instances decide), else the operator decides.
 * Usually decided once before the run continued (Runner.decideInflight); instances it could not
 * resolve (in a sub-runbook named by an expression) are asked here. An Error: no answer.
 */
export async function inflightAction(ctx: RunContext, s: StepModel, address: string): Promise<'run' | 'skip' | Error> {
  const rec = ctx.replay.instances.get(address);
  if (!rec?.inflight || s.idempotent || s.type === 'runbook') return 'run';
  let action = ctx.inflightDecisions.get(address);
  if (!action) {
    try {
      const answer = await ctx.decider.decide({ kind: 'inflight', step: address }, ctx.activeSignal);
      action = answer.kind === 'inflight' ? answer.action : 'skip';
    } catch (e) {
      return e as Error;
    }
    ctx.inflightDecisions.set(address, action);
    ctx.emitter.emit({ type: 'approval', step: address, ...ctx.tagsOf(address), decision: action, by: ctx.decider.user, message: 'was running when the process died' });
  }
  return action === 'skip' ? 'skip' : 'run';
}

function failStep(
  ctx: RunContext,
  s: StepModel,
  fullId: string,
  finish: (o: Partial<AttemptOutcome> & { status: StepStatus }, extra?: FinishExtra) => void,
  o: Partial<AttemptOutcome> & { status: StepStatus },
  extra?: FinishExtra,
): void {
  finish(o, extra);
  if (s.on_failure !== 'continue') ctx.fail(`step '${fullId}' ${o.status === 'timed_out' ? 'timed out' : 'failed'}: ${o.error ?? ''}`, fullId);
}

const notApprovedMessage = (ctx: RunContext) =>
  ctx.decider.interactive ? 'not approved by the operator' : 'needs approval: run with --yes to approve non-interactively';

/**
 * A `confirm: true` step or `approve` gate. Journaled as an `approval` event. `body` (the step as the
 * operator approves it) is made only when an operator is asked: with `--yes` nobody reads it, and
 * rendering it (YAML, masked) took ~5 ms of the interpreter's thread before a drill's restore.
 */
export async function confirmGate(ctx: RunContext, fullId: string, message: string, timeoutMs?: number, signal = ctx.activeSignal, body?: () => string): Promise<boolean> {
  if (ctx.settings.dryRun && !ctx.decider.interactive) {
    ctx.emitter.emit({ type: 'approval', step: fullId, ...ctx.tagsOf(fullId), decision: 'dry-run', by: ctx.decider.user, message });
    return true;
  }
  if (ctx.settings.yes) {
    ctx.emitter.emit({ type: 'approval', step: fullId, ...ctx.tagsOf(fullId), decision: 'approved', by: `${ctx.decider.user} (--yes)`, message });
    return true;
  }
  const { signal: s, dispose } = childSignal(signal, timeoutMs);
  try {
    const shown = body?.();
    const answer = await ctx.decider.decide({ kind: 'confirm', step: fullId, message, timeout_ms: timeoutMs, ...(shown ? { body: shown } : {}) }, s);
    const ok = answer.kind === 'confirm' && answer.approved;
    ctx.emitter.emit({ type: 'approval', step: fullId, ...ctx.tagsOf(fullId), decision: ok ? 'approved' : 'rejected', by: ctx.decider.user, message });
    return ok;
  } catch (e) {
    if (s.reason instanceof StepTimeout) {
      ctx.emitter.emit({ type: 'approval', step: fullId, ...ctx.tagsOf(fullId), decision: 'timeout', by: ctx.decider.user, message });
    }
    return false;
  } finally {
    dispose();
  }
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
