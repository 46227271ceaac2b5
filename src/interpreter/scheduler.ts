/**
 * Runs the step graph of one section (a phase's steps or a finally list): a step starts when every
 * step it needs inside the section has finished; independent steps run concurrently. Readiness is
 * tracked by counters, so a 10,000-step section costs O(steps + edges), not O(steps²).
 */
import type { StepModel } from '../dsl/model.js';
import { TERMINAL } from './state.js';
import { executeStep } from './execute-step.js';
import type { Level, PhaseCtx, RunContext } from './context.js';
import { slotsOf } from './slots.js';
import { setMaxListeners } from 'node:events';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runSection(ctx: RunContext, level: Level, steps: StepModel[], phase: PhaseCtx, opts: { untilStopped: boolean } = { untilStopped: true }): Promise<void> {
  const local = new Set(steps.map((s) => s.id));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, StepModel[]>();
  const ready: StepModel[] = [];
  const isDone = (id: string) => TERMINAL.has(level.states.get(id)!.status);
  for (const s of steps) {
    let n = 0;
    for (const dep of s.needs) {
      if (!local.has(dep) || isDone(dep)) continue;
      n++;
      (dependents.get(dep) ?? dependents.set(dep, []).get(dep)!).push(s);
    }
    waitingOn.set(s.id, n);
    if (n === 0) ready.push(s);
  }
  const running = new Set<Promise<void>>();
  const stopped = () => opts.untilStopped && ctx.stoppingIn(level);
  const slots = slotsOf(ctx, ctx.settings.maxParallel);
  // Each running step listens on the run's signals (a few listeners each): up to the cap that is by
  // design, not a leak, so Node's warning at 10 listeners would only alarm the operator.
  const listeners = slots.size * 4 + 16;
  setMaxListeners(listeners, ctx.runAbort.signal, ctx.rollbackAbort.signal, ctx.finallyAbort.signal, ...(level.signal ? [level.signal] : []));
  const launch = (s: StepModel) => {
    const p: Promise<void> = run(s).then((ran) => {
      running.delete(p);
      if (!ran) return;
      for (const d of dependents.get(s.id) ?? []) {
        const left = waitingOn.get(d.id)! - 1;
        waitingOn.set(d.id, left);
        if (left === 0) ready.push(d);
      }
    });
    running.add(p);
  };
  // A step takes one of the run's slots while it runs (--max-parallel). A `runbook:` step does not:
  // its own steps take them, and holding one while they wait would deadlock a deep enough tree.
  const run = async (s: StepModel): Promise<boolean> => {
    const release = s.type === 'runbook' ? () => {} : await slots.take();
    try {
      // The run may have started stopping while this step waited for a slot: it stays pending.
      if (stopped()) return false;
      await executeStep(ctx, level, s, phase);
      return true;
    } finally {
      release();
    }
  };
  for (;;) {
    // Restored (resumed) steps finish synchronously; drain them without awaiting a race. Steps that
    // become ready together start one event-loop turn apart, in the order they are written: a step
    // runs to its first wait (a request sent, a process spawned) before the next one starts, so the
    // next one's synchronous start (a driver's first load, ~30 ms) cannot hold back the I/O of the
    // one written before it.
    while (ready.length && !stopped()) {
      launch(ready.shift()!);
      if (ready.length) await nextTurn();
    }
    if (!running.size) break;
    await Promise.race(running);
  }
}
