/**
 * A for_each step's items: each is an instance `<step>[<index>]` (spec §8) with its own step.started,
 * step.output, step.finished (carrying `index` and `item`), its own rollback, and, on resume, its own
 * fate: a finished item is never run again, an in-flight one follows idempotent / the flags / the
 * operator. The step itself then gets one aggregate step.finished with the items' counts.
 */
import type { StepModel } from '../dsl/model.js';
import type { StepStatus } from './events.js';
import { instanceAddress } from './address.js';
import { attemptLoop, type AttemptOutcome } from './attempt.js';
import { emitFinished, inflightAction, INFLIGHT_SKIPPED } from './execute-step.js';
import { restoredOutcome } from './restore.js';
import type { Level, PhaseCtx, RunContext } from './context.js';

export interface ItemCounts {
  succeeded: number;
  failed: number;
  timed_out: number;
  skipped: number;
  cancelled: number;
}

export const failedStatus = (st: StepStatus | undefined) => st === 'failed' || st === 'timed_out';

/** How the instances of an item or host fan-out ended (the aggregate step.finished's `items`). */
export function countsOf(results: (AttemptOutcome | undefined)[]): ItemCounts {
  const counts: ItemCounts = { succeeded: 0, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 };
  for (const r of results) if (r && r.status in counts) counts[r.status as keyof ItemCounts]++;
  return counts;
}

/** Resume: the outcome of an instance the dead process finished, or undefined (it did not). */
export function finishedBefore(ctx: RunContext, level: Level, address: string): AttemptOutcome | undefined {
  const rec = ctx.replay.instances.get(address);
  if (!rec?.finished || rec.inflight) return undefined;
  const o = restoredOutcome(ctx, level, rec.finished);
  return { status: o.status, result: o.result, outputs: o.outputs, error: o.error, attempts: o.attempts };
}

/**
 * Runs the items not finished yet (`previous`: the outcomes of an earlier pass, kept when they
 * succeeded — an operator's retry runs the failed items again, never the ones that succeeded).
 */
export async function runItems(
  ctx: RunContext,
  level: Level,
  s: StepModel,
  phase: PhaseCtx,
  address: string,
  items: unknown[],
  previous?: (AttemptOutcome | undefined)[],
): Promise<{ outcome: AttemptOutcome; counts: ItemCounts; results: (AttemptOutcome | undefined)[] }> {
  const results: (AttemptOutcome | undefined)[] = new Array(items.length);
  let itemFailed = false;
  for (let i = 0; i < items.length; i++) {
    const prev = previous?.[i];
    if (prev && prev.status !== 'failed' && prev.status !== 'timed_out' && prev.status !== 'cancelled') results[i] = prev;
    // Resume: an item the dead process finished.
    else if (!previous) results[i] = finishedBefore(ctx, level, instanceAddress(address, i));
    if (failedStatus(results[i]?.status)) itemFailed = true;
  }
  let next = 0;
  // Decision: with on_failure: abort, once an item has failed no new item starts (items already
  // running finish): the step fails anyway, and a recovery should not keep changing more targets.
  // With on_failure: continue every item runs (best effort) and the step fails if any failed.
  const worker = async () => {
    while (next < items.length && !ctx.stoppingIn(level) && !(itemFailed && s.on_failure === 'abort')) {
      const index = next++;
      if (results[index]) continue;
      const r = await runItem(ctx, level, s, phase, address, index, items[index]);
      results[index] = r;
      if (failedStatus(r.status)) itemFailed = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(s.concurrency, items.length) }, worker));
  const done = results.filter((r): r is AttemptOutcome => !!r);
  const outputs: Record<string, unknown[]> = {};
  for (const name of Object.keys(s.outputs)) outputs[name] = results.map((r) => r?.outputs[name] ?? null);
  const counts = countsOf(done);
  // An item's own failure outranks a timeout, which outranks being cancelled by the run.
  const worst = (['failed', 'timed_out', 'cancelled'] as StepStatus[]).find((st) => done.some((r) => r.status === st));
  const failedItems = results.map((r, i) => (r && r.status !== 'succeeded' && r.status !== 'skipped' ? `item ${i}: ${r.error}` : null)).filter(Boolean);
  const status: StepStatus = worst ?? (done.length < items.length ? 'cancelled' : 'succeeded');
  return {
    outcome: {
      status,
      result: results.map((r) => r?.result ?? null),
      outputs,
      error: failedItems.length || done.length < items.length ? [...failedItems, ...(done.length < items.length ? [`${items.length - done.length} item(s) not started`] : [])].join('; ') : null,
      attempts: Math.max(0, ...done.map((r) => r.attempts)),
    },
    counts,
    results,
  };
}

async function runItem(ctx: RunContext, level: Level, s: StepModel, phase: PhaseCtx, step: string, index: number, item: unknown): Promise<AttemptOutcome> {
  const address = instanceAddress(step, index);
  ctx.setTags(address, { index, item });
  const started = Date.now();
  const action = await inflightAction(ctx, s, address);
  if (action instanceof Error) {
    const o: AttemptOutcome = { status: 'failed', result: null, outputs: {}, error: action.message, attempts: 0 };
    emitFinished(ctx, level, s, phase, address, o, 0);
    return o;
  }
  const run = ctx.markStarted(level, s, address, { index, item });
  let o: AttemptOutcome;
  if (action === 'skip') {
    run.inflightSkipped = true;
    o = { status: 'skipped', result: null, outputs: {}, error: INFLIGHT_SKIPPED, attempts: 0 };
  } else o = await attemptLoop(ctx, level, s, phase, address, { item, index });
  run.status = o.status;
  run.self = { status: o.status, outputs: o.outputs, result: o.result, error: o.error, attempts: o.attempts, duration: Date.now() - started };
  emitFinished(ctx, level, s, phase, address, o, Date.now() - started, action === 'skip' ? { skipped_inflight: true } : {});
  return o;
}
