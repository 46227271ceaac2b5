/** Resume: results of steps a crashed process finished are applied to a level as it is created. */
import type { StepFinishedEvent } from './events.js';
import type { Level, RunContext } from './context.js';

/** Apply restored step results to a level (top or a sub-runbook) as it is created. */
export function restoreLevel(ctx: RunContext, level: Level): void {
  if (!ctx.restored.size && !ctx.restoredStartOrder.size) return;
  const entries: { id: string; order: number }[] = [];
  for (const [id, m] of level.model.steps) {
    const full = level.prefix + id;
    const e: StepFinishedEvent | undefined = ctx.restored.get(full);
    if (e && !ctx.inflight.has(full)) {
      ctx.setState(level, id, {
        status: e.status,
        outputs: e.outputs ?? {},
        result: e.result ?? null,
        error: e.error ?? null,
        attempts: e.attempts,
        duration: e.duration_ms,
        restored: true,
        rollbackDone: ctx.rolledBack.has(full),
      });
      const order = ctx.restoredStartOrder.get(full);
      if (order !== undefined) entries.push({ id, order });
      if ((e.status === 'failed' || e.status === 'timed_out') && m.on_failure === 'abort') {
        ctx.fail(`step '${full}' ${e.status === 'timed_out' ? 'timed out' : 'failed'}: ${e.error ?? ''}`, full);
      }
    }
  }
  entries.sort((a, b) => a.order - b.order);
  for (const { id } of entries) ctx.markStarted(level, level.states.get(id)!);
}

