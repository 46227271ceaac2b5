/**
 * One step's life: guard → operator gates (--step, confirm) → for_each items → attempts (timeout,
 * retry with backoff, until polling) → expect → outputs → one `step.finished`. Failures ask the
 * operator (interactive) or fail the run (`on_failure: abort`).
 */
import type { BodyModel, StepModel } from '../dsl/model.js';
import type { Scope } from '../dsl/expr/index.js';
import { UNKNOWN, stringifyValue } from '../dsl/expr/index.js';
import type { StepStatus } from './events.js';
import { StepFailure } from '../steps/types.js';
import { stepType } from '../steps/registry.js';
import { evaluateBare, evaluateValue, locateError, resolveValue } from './resolve.js';
import { childSignal, formatMs, RunCancelled, sleep, StepTimeout } from './timers.js';
import { journalResult } from './state.js';
import { renderBody } from './render.js';
import { executeControl } from './control.js';
import { checkResolvedBody } from './check-body.js';
import { RUN_ID_ENV, STEP_ID_ENV } from './orphans.js';
import { MaskedOutput } from './masked-output.js';
import type { Level, PhaseCtx, RunContext } from './context.js';

export interface AttemptOutcome {
  status: StepStatus;
  result: unknown;
  outputs: Record<string, unknown>;
  error: string | null;
  attempts: number;
}

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
    const rendered = renderBody(s.type, safeResolve(s, scope, true));
    const answer = await ctx.decider.decide({ kind: 'step', step: fullId, title: s.title, rendered }, ctx.activeSignal).catch(() => undefined);
    if (!answer || answer.kind !== 'step') return;
    ctx.emitter.emit({ type: 'approval', step: fullId, decision: answer.action, by: ctx.decider.user });
    if (answer.action === 'skip') return finish({ status: 'skipped' });
    if (answer.action === 'abort') {
      ctx.abort(ctx.decider.user, true);
      return;
    }
    if (answer.action === 'continue') ctx.settings.stepMode = false;
  }

  if (s.confirm && !(await confirmGate(ctx, fullId, s.title ?? `run step '${s.id}'`))) {
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
export async function confirmGate(ctx: RunContext, fullId: string, message: string, timeoutMs?: number, signal = ctx.activeSignal): Promise<boolean> {
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
    const answer = await ctx.decider.decide({ kind: 'confirm', step: fullId, message, timeout_ms: timeoutMs }, s);
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

/**
 * Attempts of one body (a step, one for_each item, or a rollback) with timeout and retry. With
 * `rollbackOf`, the body is that step's rollback and no step.started is emitted.
 */
export async function attemptLoop(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx | undefined,
  fullId: string,
  extra: Scope,
  index?: number,
  opts: { body?: BodyModel; signal?: AbortSignal; rollback?: boolean } = {},
): Promise<AttemptOutcome> {
  const b = opts.body ?? s;
  const parent = opts.signal ?? ctx.signalOf(level);
  const t = stepType(b.type);
  const sideEffects = (t?.sideEffects ?? false) || b.type === 'runbook' || b.type === 'approve' || !!opts.rollback;
  let attempt = 0;
  let delay = b.retry.delay_ms;
  for (;;) {
    attempt++;
    if (!opts.rollback) {
      ctx.emitter.emit({
        type: 'step.started',
        step: fullId,
        phase: phase?.fullId ?? '',
        attempt,
        max_attempts: b.retry.attempts,
        step_type: b.type,
        ...(b.title ? { title: b.title } : {}),
        ...(index !== undefined ? { index } : {}),
        ...(level.depth ? { depth: level.depth } : {}),
      });
    }
    // Durability rule: every event is on disk before a side effect starts.
    if (sideEffects) ctx.emitter.flush();
    const usePoll = !opts.rollback && s.until && b === s;
    const { signal, dispose } = childSignal(parent, usePoll ? undefined : timeoutOf(b));
    let result: unknown;
    try {
      const scope = ctx.scope(level, phase, extra);
      result = usePoll
        ? await pollUntil(ctx, level, s, phase, fullId, scope, signal)
        : await executeBody(ctx, level, b, fullId, scope, signal);
      const rscope = { ...scope, result };
      for (const e of b.expect) {
        let v: unknown;
        try {
          v = evaluateBare(e.value, rscope);
        } catch (err) {
          throw new StepFailure(`expect: ${locateError(err, level.model.src, e)}`, asRecord(result));
        }
        if (v === UNKNOWN && ctx.settings.dryRun) continue;
        if (v !== true) throw new StepFailure(`expect failed: ${stringifyValue(e.value)}${v === false ? '' : ` (got ${stringifyValue(v)})`}`, asRecord(result));
      }
      const outputs: Record<string, unknown> = {};
      if (b === s) {
        if (s.type === 'runbook' && result && typeof result === 'object') Object.assign(outputs, (result as { outputs?: object }).outputs);
        for (const [name, loc] of Object.entries(s.outputs)) {
          try {
            outputs[name] = evaluateValue(loc.value, rscope);
          } catch (err) {
            if (ctx.settings.dryRun) outputs[name] = UNKNOWN;
            else throw new StepFailure(`outputs.${name}: ${locateError(err, level.model.src, loc)}`, asRecord(result));
          }
        }
      }
      return { status: 'succeeded', result, outputs, error: null, attempts: attempt };
    } catch (e) {
      const reason = signal.aborted ? signal.reason : undefined;
      // The parent signal first: a step cancelled by its sub-runbook step's timeout (same StepTimeout
      // reason) is `cancelled`; only its own timeout makes it `timed_out`.
      const status: StepStatus =
        e instanceof StepFailure && e.code === 'SUBRUNBOOK_FAILED'
          ? 'failed'
          : parent.aborted || reason instanceof RunCancelled
            ? 'cancelled'
            : reason instanceof StepTimeout || e instanceof StepTimeout
              ? 'timed_out'
              : 'failed';
      // A cancelled shell step says how its group was killed ("…): process group killed with
      // SIGTERM, then SIGKILL"): keep that detail after the interpreter's own reason.
      const killDetail = e instanceof StepFailure && e.code === 'STEP_CANCELLED' ? /\): (process group .*)$/.exec(e.message)?.[1] : undefined;
      const base =
        status === 'timed_out'
          ? e instanceof StepTimeout ? e.message : `timed out after ${formatMs((reason as StepTimeout).ms)}`
          : status === 'cancelled'
            ? cancelReason(parent.aborted ? parent.reason : reason)
            : ctx.emitter.masker.mask(e instanceof Error ? e.message : String(e));
      const error = killDetail && status !== 'failed' ? `${base}; ${killDetail}` : base;
      const failedResult = e instanceof StepFailure ? e.result : undefined;
      if (status !== 'cancelled' && attempt < b.retry.attempts && !parent.aborted) {
        ctx.emitter.emit({ type: 'step.output', step: fullId, stream: 'info', text: `attempt ${attempt}/${b.retry.attempts} ${status}: ${error}; retrying in ${formatMs(delay)}` });
        try {
          await sleep(delay, parent);
        } catch {
          return { status: 'cancelled', result: failedResult, outputs: {}, error: 'cancelled while waiting to retry', attempts: attempt };
        }
        delay = Math.min(delay * b.retry.backoff, b.retry.max_delay_ms ?? Infinity);
        continue;
      }
      return { status, result: failedResult ?? null, outputs: {}, error, attempts: attempt };
    } finally {
      dispose();
    }
  }
}

function cancelReason(reason: unknown): string {
  if (reason instanceof StepTimeout) return `cancelled: its sub-runbook step timed out after ${formatMs(reason.ms)}`;
  return (reason as Error | undefined)?.message ?? 'cancelled';
}

/**
 * The attempt's timeout. Decision: a `runbook:` step is bounded only by a `timeout:` written on it —
 * the default step timeout (5m unless `defaults.timeout`) is meant for one action, not for a whole
 * sub-procedure whose own steps carry their own timeouts. When it fires, the child's running steps
 * are cancelled and none of its steps start any more (its finally steps still run).
 */
function timeoutOf(b: BodyModel): number | undefined {
  return b.type !== 'runbook' || b.timeout_explicit ? b.timeout_ms : undefined;
}

const asRecord = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v });

export { formatMs };

/** `until`: run the body every `every` until the condition holds; timed_out after `within`. */
async function pollUntil(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx | undefined, fullId: string, scope: Scope, signal: AbortSignal): Promise<unknown> {
  const until = s.until!;
  const within = until.within_ms ?? s.timeout_ms;
  const deadline = Date.now() + within;
  let polls = 0;
  let last: unknown;
  for (;;) {
    polls++;
    const remaining = deadline - Date.now();
    const poll = childSignal(signal, Math.max(1, Math.min(s.timeout_ms, remaining)));
    try {
      last = await executeBody(ctx, level, s, fullId, scope, poll.signal);
    } catch (e) {
      // A failing poll counts as "not yet" — unless the run is cancelled or the window is over.
      if (signal.aborted) throw e;
      if (Date.now() >= deadline) throw new StepTimeout(within);
      last = e instanceof StepFailure ? e.result : undefined;
      ctx.emitter.emit({ type: 'step.output', step: fullId, stream: 'info', text: `poll ${polls}: ${e instanceof Error ? e.message : e}` });
    } finally {
      poll.dispose();
    }
    let ok: unknown;
    try {
      ok = evaluateBare(until.condition.value, { ...scope, result: last });
    } catch (e) {
      throw new StepFailure(`until: ${locateError(e, level.model.src, until.condition)}`, asRecord(last));
    }
    if (ok === true || (ok === UNKNOWN && ctx.settings.dryRun)) return last;
    ctx.emitter.emit({ type: 'step.progress', step: fullId, message: `poll ${polls}: waiting for ${stringifyValue(until.condition.value)}` });
    if (Date.now() + until.every_ms > deadline) {
      const e = new StepTimeout(within);
      e.message = `condition not met within ${formatMs(within)} (${polls} polls): ${stringifyValue(until.condition.value)}`;
      throw e;
    }
    await sleep(until.every_ms, signal);
  }
}

/** The body as `plan` shows it: what is known resolved, shell scripts with their values quoted. */
function safeResolve(b: BodyModel, scope: Scope, keepUnknown: boolean): unknown {
  try {
    return resolveValue(b.body, scope, { keepUnknown, quoteFields: stepType(b.type)?.shellQuoted });
  } catch {
    return b.body;
  }
}

/** The body's work: a built-in type through its module, or a control type. */
export async function executeBody(ctx: RunContext, level: Level, b: BodyModel, fullId: string, scope: Scope, signal: AbortSignal): Promise<unknown> {
  const t = stepType(b.type);
  if (b.type === 'assert') return executeControl(ctx, level, b, fullId, scope, signal);
  let body: unknown;
  try {
    body = resolveValue(b.body, scope, { quoteFields: t?.shellQuoted, keepUnknown: ctx.settings.dryRun });
  } catch (e) {
    throw new StepFailure(locateError(e, level.model.src, { path: b.path, value: b.body }), undefined, 'EXPR_EVAL');
  }
  if (!t) return executeControl(ctx, level, b, fullId, scope, signal, body);
  if (ctx.settings.dryRun) {
    ctx.emitter.emit({ type: 'step.output', step: fullId, stream: 'info', text: `dry run, not executed: ${renderBody(b.type, body)}` });
    return UNKNOWN;
  }
  checkResolvedBody(t, b.body, body);
  let lastProgress = 0;
  const out = new MaskedOutput(ctx.secretForms, (stream, text) => ctx.emitter.emit({ type: 'step.output', step: fullId, stream, text }));
  try {
    return await t.execute(body as Record<string, unknown>, {
      signal,
      runId: ctx.runId,
      stepId: fullId,
      baseDir: level.model.baseDir,
      // The run and step ids mark every process a step starts, so `resume` can find orphans (orphans.ts).
      env: { ...ctx.settings.env, [RUN_ID_ENV]: ctx.runId, [STEP_ID_ENV]: fullId },
      connection: (name, kind) => level.connections.get(name, kind),
      output: (stream, text) => out.write(stream, text),
      progress: (p) => {
        const now = Date.now();
        if (now - lastProgress < 250 && !(p.total !== undefined && p.bytes === p.total)) return;
        lastProgress = now;
        ctx.emitter.emit({ type: 'step.progress', step: fullId, ...p });
      },
    });
  } finally {
    out.flush();
  }
}
