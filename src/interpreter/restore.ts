/** Resume: results of steps a crashed process finished are applied to a level as it is created. */
import { resolve } from 'node:path';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { StepModel } from '../dsl/model.js';
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


/**
 * The model of a step by its dotted id (`parent.child` inside sub-runbooks), when it can be known
 * before running: sub-runbooks named by a literal file. Undefined otherwise.
 */
export function stepModelOf(loaded: LoadedRunbook, dottedId: string): StepModel | undefined {
  const parts = dottedId.split('.');
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
