/**
 * Spec §4: after a failure, the rollback bodies of every step that started (succeeded, failed,
 * timed out or was cancelled) run one at a time in reverse order of start; `rollback.when` can
 * narrow it (`self` is the original step). Policy auto/prompt/off.
 */
import { UNKNOWN } from '../dsl/expr/index.js';
import { evaluateBare, locateError } from './resolve.js';
import { attemptLoop } from './attempt.js';
import { scopeView } from './state.js';
import type { RunContext, StartedEntry } from './context.js';

export interface RollbackOutcome {
  ran: number;
  failed: number;
  /** Cut short or never run because the operator skipped the rollback (second signal). */
  skipped: number;
}

export async function runRollback(ctx: RunContext, policy: 'auto' | 'prompt' | 'off'): Promise<RollbackOutcome> {
  const outcome: RollbackOutcome = { ran: 0, failed: 0, skipped: 0 };
  if (policy === 'off') return outcome;
  let candidates = [...ctx.started]
    .filter((e) => e.state.model?.rollback && (e.state.status !== 'skipped' || e.state.inflightSkipped) && e.state.status !== 'pending' && !e.state.rollbackDone)
    .sort((a, b) => b.seq - a.seq);
  if (!candidates.length) return outcome;

  if (policy === 'prompt') {
    const ids = candidates.map((c) => c.level.prefix + c.state.id);
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
      candidates = candidates.filter((c) => chosen.includes(c.level.prefix + c.state.id));
    }
  }

  for (const entry of candidates) {
    const items = entry.state.startedItems?.length ? entry.state.startedItems : [undefined];
    for (const it of [...items].reverse()) {
      if (ctx.rollbackAbort.signal.aborted) {
        outcome.skipped++;
        continue;
      }
      const r = await rollbackOne(ctx, entry, it);
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
    if (!ctx.rollbackAbort.signal.aborted) entry.state.rollbackDone = true;
  }
  return outcome;
}

async function rollbackOne(ctx: RunContext, entry: StartedEntry, it: { index: number; item: unknown } | undefined): Promise<string> {
  const { level, state } = entry;
  const step = state.model!;
  const rb = step.rollback!;
  const fullId = level.prefix + state.id;
  const extra = { self: scopeView(state), ...(it ? { item: it.item, index: it.index } : {}) };
  if (rb.when) {
    let v: unknown;
    try {
      v = evaluateBare(rb.when.value, ctx.scope(level, undefined, extra));
    } catch (e) {
      ctx.emitter.emit({ type: 'rollback.started', step: fullId });
      ctx.emitter.emit({ type: 'rollback.finished', step: fullId, status: 'failed', error: `when: ${locateError(e, level.model.src, rb.when)}` });
      return 'failed';
    }
    if (v !== true && !(v === UNKNOWN && ctx.settings.dryRun)) return 'skipped';
  }
  ctx.emitter.emit({ type: 'rollback.started', step: fullId });
  ctx.emitter.flush();
  const started = Date.now();
  const o = await attemptLoop(ctx, level, step, undefined, fullId, extra, it?.index, { body: rb, signal: ctx.rollbackAbort.signal, rollback: true });
  ctx.emitter.emit({
    type: 'rollback.finished',
    step: fullId,
    status: o.status,
    ...(o.error ? { error: o.error } : {}),
    duration_ms: Date.now() - started,
  });
  return o.status;
}
