/**
 * Runs the step graph of one section (a phase's steps or a finally list): a step starts when every
 * step it needs inside the section has finished; independent steps run concurrently. Readiness is
 * tracked by counters, so a 10,000-step section costs O(steps + edges), not O(steps²).
 */
import type { StepModel } from '../dsl/model.js';
import { TERMINAL } from './state.js';
import { executeStep } from './execute-step.js';
import type { Level, PhaseCtx, RunContext } from './context.js';

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
  const launch = (s: StepModel) => {
    const p: Promise<void> = executeStep(ctx, level, s, phase).then(() => {
      running.delete(p);
      for (const d of dependents.get(s.id) ?? []) {
        const left = waitingOn.get(d.id)! - 1;
        waitingOn.set(d.id, left);
        if (left === 0) ready.push(d);
      }
    });
    running.add(p);
  };
  for (;;) {
    // Restored (resumed) steps finish synchronously; drain them without awaiting a race.
    while (ready.length && !stopped()) launch(ready.shift()!);
    if (!running.size) break;
    await Promise.race(running);
  }
}
