/**
 * Attempts of one body — a step, one for_each item, or a rollback: per-attempt timeout, retry with
 * backoff, `until` polling, `expect`, `outputs`; and the body's work itself (a built-in type or a
 * control type). Every failure becomes an outcome; cancellation follows the one run-level signal.
 */
import { effectiveTimeout } from './effective-timeout.js';
import type { BodyModel, StepModel } from '../dsl/model.js';
import type { Scope } from '../dsl/expr/index.js';
import { UNKNOWN, stringifyValue } from '../dsl/expr/index.js';
import type { StepStatus } from './events.js';
import { StepFailure } from '../steps/types.js';
import { stepType } from '../steps/registry.js';
import { evaluateBare, evaluateValue, locateError, resolveValue } from './resolve.js';
import { childSignal, formatMs, RunCancelled, sleep, StepTimeout } from './timers.js';
import { renderBody } from './render.js';
import { executeControl } from './control.js';
import { checkResolvedBody } from './check-body.js';
import { RUN_ID_ENV, STEP_ID_ENV } from './orphans.js';
import { MaskedOutput } from './masked-output.js';
import { OutputLimit } from './output-limit.js';
import type { Level, PhaseCtx, RunContext } from './context.js';
import type { Remote } from './fan-out.js';

export interface AttemptOptions {
  body?: BodyModel;
  signal?: AbortSignal;
  rollback?: boolean;
  /** `on:` a host instance: where its commands run (spec §9). */
  remote?: Remote;
}

export interface AttemptOutcome {
  status: StepStatus;
  result: unknown;
  outputs: Record<string, unknown>;
  error: string | null;
  attempts: number;
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
  opts: AttemptOptions = {},
): Promise<AttemptOutcome> {
  // One output budget for all attempts and polls of this instance; what it dropped is told once, at the end.
  const limit = new OutputLimit((opts.body ?? s).output_limit);
  try {
    return await attempts(ctx, level, s, phase, fullId, extra, opts, limit);
  } finally {
    for (const t of limit.truncated()) ctx.emitter.emit({ type: 'step.output_truncated', step: fullId, ...ctx.tagsOf(fullId), ...t });
  }
}

async function attempts(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx | undefined,
  fullId: string,
  extra: Scope,
  opts: AttemptOptions,
  limit: OutputLimit,
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
        ...ctx.tagsOf(fullId),
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
        ? await pollUntil(ctx, level, s, phase, fullId, scope, signal, limit, opts.remote)
        : await executeBody(ctx, level, b, fullId, scope, signal, limit, opts.remote);
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
        ctx.emitter.emit({ type: 'step.output', step: fullId, ...ctx.tagsOf(fullId), stream: 'info', text: `attempt ${attempt}/${b.retry.attempts} ${status}: ${error}; retrying in ${formatMs(delay)}` });
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
  // One rule for the interpreter and plan (effective-timeout.ts), including approve's own timeout.
  return effectiveTimeout(b);
}

const asRecord = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v });


/** `until`: run the body every `every` until the condition holds; timed_out after `within`. */
async function pollUntil(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx | undefined,
  fullId: string,
  scope: Scope,
  signal: AbortSignal,
  limit: OutputLimit,
  remote?: Remote,
): Promise<unknown> {
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
      last = await executeBody(ctx, level, s, fullId, scope, poll.signal, limit, remote);
    } catch (e) {
      // A failing poll counts as "not yet" — unless the run is cancelled or the window is over.
      if (signal.aborted) throw e;
      // A poll cut short by the end of the window: the condition was not met within it either.
      if (Date.now() >= deadline) throw notMet(within, polls, until.condition.value);
      last = e instanceof StepFailure ? e.result : undefined;
      ctx.emitter.emit({ type: 'step.output', step: fullId, ...ctx.tagsOf(fullId), stream: 'info', text: `poll ${polls}: ${e instanceof Error ? e.message : e}` });
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
    ctx.emitter.emit({ type: 'step.progress', step: fullId, ...ctx.tagsOf(fullId), message: `poll ${polls}: waiting for ${stringifyValue(until.condition.value)}` });
    if (Date.now() + until.every_ms > deadline) throw notMet(within, polls, until.condition.value);
    await sleep(until.every_ms, signal);
  }
}

function notMet(within: number, polls: number, condition: unknown): StepTimeout {
  const e = new StepTimeout(within);
  e.message = `condition not met within ${formatMs(within)} (${polls} polls): ${stringifyValue(condition)}`;
  return e;
}

/** The body's work: a built-in type through its module, or a control type. */
export async function executeBody(
  ctx: RunContext,
  level: Level,
  b: BodyModel,
  fullId: string,
  scope: Scope,
  signal: AbortSignal,
  limit = new OutputLimit(b.output_limit),
  remote?: Remote,
): Promise<unknown> {
  const t = stepType(b.type);
  if (b.type === 'assert') return executeControl(ctx, level, b, fullId, scope, signal);
  let body: unknown;
  try {
    body = resolveValue(b.body, scope, { quoteFields: t?.shellQuoted, urlFields: t?.urlFields, keepUnknown: ctx.settings.dryRun, display: ctx.settings.dryRun });
  } catch (e) {
    throw new StepFailure(locateError(e, level.model.src, { path: b.path, value: b.body }), undefined, 'EXPR_EVAL');
  }
  if (!t) return executeControl(ctx, level, b, fullId, scope, signal, body);
  if (ctx.settings.dryRun) {
    ctx.emitter.emit({ type: 'step.output', step: fullId, ...ctx.tagsOf(fullId), stream: 'info', text: `dry run, not executed: ${renderBody(b.type, body)}` });
    return UNKNOWN;
  }
  checkResolvedBody(t, b.body, body);
  // An Authorization header built from parts is a credential as a whole (spec §3).
  const headers = (body as { headers?: unknown } | null)?.headers;
  if (headers && typeof headers === 'object') ctx.emitter.masker.addHeaders(headers as Record<string, unknown>);
  let lastProgress = 0;
  const tags = ctx.tagsOf(fullId);
  // Masked first, then cut to the output limit (see output-limit.ts for why in this order).
  const out = new MaskedOutput(ctx.emitter.masker.forms, (stream, text) => {
    const kept = limit.take(stream, text);
    if (kept !== '') ctx.emitter.emit({ type: 'step.output', step: fullId, ...tags, stream, text: kept });
  });
  try {
    const result = await t.execute(body as Record<string, unknown>, {
      signal,
      runId: ctx.runId,
      stepId: fullId,
      baseDir: level.model.baseDir,
      // The run and step ids mark every process a step starts, so `resume` can find orphans (orphans.ts).
      env: { ...ctx.settings.env, [RUN_ID_ENV]: ctx.runId, [STEP_ID_ENV]: fullId },
      connection: (name, kind) => level.connections.get(name, kind),
      services: ctx.services,
      ...(remote ? { remote } : {}),
      mask: (text) => ctx.emitter.masker.mask(text),
      output: (stream, text) => out.write(stream, text),
      progress: (p) => {
        const now = Date.now();
        if (now - lastProgress < 250 && !(p.total !== undefined && p.bytes === p.total)) return;
        lastProgress = now;
        ctx.emitter.emit({ type: 'step.progress', step: fullId, ...tags, ...p });
      },
    });
    // A session cookie or token a server sends back is a credential too, before the result is journaled.
    const answered = (result as { headers?: unknown } | null)?.headers;
    if (answered && typeof answered === 'object') ctx.emitter.masker.addHeaders(answered as Record<string, unknown>);
    return result;
  } finally {
    out.flush();
  }
}
