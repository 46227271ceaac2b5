/**
 * Spec §4, §8: after a failure, the rollback bodies of every instance that started (succeeded,
 * failed, timed out or was cancelled; a for_each item, a sub-runbook's step) run one at a time in
 * reverse order of start; `rollback.when` can narrow it (`self` is the original instance).
 * Policy auto/prompt/off. On resume, finished rollbacks are never run again, and one that was
 * running when the process died runs again only if its body is `idempotent`, else the operator
 * or the flags decide.
 */
import { UNKNOWN } from '../dsl/expr/index.js';
import { evaluateBare, locateError } from './resolve.js';
import { attemptLoop } from './attempt.js';
import type { InstanceRun, RunContext } from './context.js';
import { hostScope, rollbackRemote, type Remote } from './fan-out.js';

export interface RollbackOutcome {
  ran: number;
  failed: number;
  /** Cut short or never run because the operator skipped the rollback (second signal). */
  skipped: number;
}

export async function runRollback(ctx: RunContext, policy: 'auto' | 'prompt' | 'off'): Promise<RollbackOutcome> {
  const outcome: RollbackOutcome = { ran: 0, failed: 0, skipped: 0 };
  if (policy === 'off') return outcome;
  // Resume: rollbacks the dead process finished count in the outcome; they never run again.
  for (const e of ctx.started) {
    if (!e.rollbackDone || !e.rollbackStatus) continue;
    if (e.rollbackStatus === 'skipped') continue;
    outcome.ran++;
    if (e.rollbackStatus !== 'succeeded') outcome.failed++;
  }
  let candidates = ctx.started
    .filter((e) => e.model.rollback && (e.status !== 'skipped' || e.inflightSkipped) && e.status !== 'pending' && !e.rollbackDone)
    .sort((a, b) => b.seq - a.seq);
  if (!candidates.length) return outcome;

  if (policy === 'prompt') {
    const ids = candidates.map((c) => c.address);
    if (!ctx.decider.interactive) {
      ctx.emitter.emit({ type: 'warning', code: 'ROLLBACK_PROMPT_AUTO', message: 'rollback: prompt in a non-interactive run is treated as auto' });
    } else {
      const answer = await ctx.decider.decide({ kind: 'rollback', steps: ids }, ctx.rollbackAbort.signal).catch(() => undefined);
      const chosen = answer?.kind === 'rollback' ? answer.steps : [];
      ctx.emitter.emit({
        type: 'approval',
        step: '',
        decision: chosen.length === ids.length ? 'rollback_all' : chosen.length ? `rollback_some: ${chosen.join(', ')}` : 'rollback_none',
        by: ctx.decider.user,
      });
      candidates = candidates.filter((c) => chosen.includes(c.address));
    }
  }

  // One instance at a time, in reverse order of instance start (items and sub-runbook steps alike).
  for (const entry of candidates) {
    if (ctx.rollbackAbort.signal.aborted) {
      outcome.skipped++;
      continue;
    }
    const r = await rollbackOne(ctx, entry);
    if (!ctx.rollbackAbort.signal.aborted) entry.rollbackDone = true;
    if (r === 'skipped') continue;
    // Decision: a rollback body cancelled because the operator skipped the rollback (second
    // signal) is not a rollback failure: the operator chose to take over (run status `aborted`).
    if (r === 'cancelled' && ctx.rollbackAbort.signal.aborted) {
      outcome.skipped++;
      continue;
    }
    outcome.ran++;
    if (r !== 'succeeded') outcome.failed++;
  }
  return outcome;
}

async function rollbackOne(ctx: RunContext, entry: InstanceRun): Promise<string> {
  const { level, model: step, address } = entry;
  const rb = step.rollback!;
  const tags = ctx.tagsOf(address);
  let remote: Remote | undefined;
  try {
    remote = await rollbackRemote(ctx, entry);
  } catch (e) {
    ctx.emitter.emit({ type: 'rollback.started', step: address, ...tags });
    ctx.emitter.emit({ type: 'rollback.finished', step: address, ...tags, status: 'failed', error: `cannot reach its host: ${(e as Error).message}` });
    return 'failed';
  }
  const extra = { self: entry.self, ...(entry.item ? { item: entry.item.item, index: entry.item.index } : {}), ...(remote ? { host: hostScope(remote.host) } : {}) };
  // Resume: a rollback that was running when the process died is decided like a step.
  const rec = ctx.replay.instances.get(address);
  if (rec?.rollbackStarted && !rec.rollbackFinished && !rb.idempotent) {
    let action = ctx.rollbackDecisions.get(address);
    if (!action) {
      try {
        const answer = await ctx.decider.decide({ kind: 'inflight', step: address, rollback: true }, ctx.rollbackAbort.signal);
        action = answer.kind === 'inflight' ? answer.action : 'skip';
      } catch (e) {
        action = undefined;
        ctx.emitter.emit({ type: 'rollback.finished', step: address, ...tags, status: 'failed', error: `was running when the process died and is not idempotent: ${(e as Error).message}` });
        return 'failed';
      }
      ctx.rollbackDecisions.set(address, action);
      ctx.emitter.emit({ type: 'approval', step: address, ...tags, decision: action, by: ctx.decider.user, message: 'its rollback was running when the process died' });
    }
    if (action === 'skip') {
      ctx.emitter.emit({ type: 'rollback.finished', step: address, ...tags, status: 'skipped', error: 'was running when the process died; not run again (--skip-inflight)' });
      return 'skipped';
    }
  }
  if (rb.when) {
    let v: unknown;
    try {
      v = evaluateBare(rb.when.value, ctx.scope(level, undefined, extra));
    } catch (e) {
      ctx.emitter.emit({ type: 'rollback.started', step: address, ...tags });
      ctx.emitter.emit({ type: 'rollback.finished', step: address, ...tags, status: 'failed', error: `when: ${locateError(e, level.model.src, rb.when)}` });
      return 'failed';
    }
    if (v !== true && !(v === UNKNOWN && ctx.settings.dryRun)) return 'skipped';
  }
  ctx.emitter.emit({ type: 'rollback.started', step: address, ...tags });
  ctx.emitter.flush();
  const started = Date.now();
  const o = await attemptLoop(ctx, level, step, undefined, address, extra, { body: rb, signal: ctx.rollbackAbort.signal, rollback: true, ...(remote ? { remote } : {}) });
  ctx.emitter.emit({
    type: 'rollback.finished',
    step: address,
    ...tags,
    status: o.status,
    ...(o.error ? { error: o.error } : {}),
    duration_ms: Date.now() - started,
  });
  return o.status;
}
