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

/**
 * The ready steps, taken in the order they are written (a binary min-heap on their position): a step
 * that becomes ready while others wait to start goes before those written after it.
 */
class WrittenOrder<T> {
  private heap: T[] = [];
  constructor(private readonly key: (item: T) => number) {}
  get size(): number {
    return this.heap.length;
  }
  push(item: T): void {
    const h = this.heap;
    let i = h.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.key(h[parent]) <= this.key(h[i])) break;
      [h[parent], h[i]] = [h[i], h[parent]];
      i = parent;
    }
  }
  take(): T {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.key(h[l]) < this.key(h[m])) m = l;
        if (r < h.length && this.key(h[r]) < this.key(h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

export async function runSection(ctx: RunContext, level: Level, steps: StepModel[], phase: PhaseCtx, opts: { untilStopped: boolean } = { untilStopped: true }): Promise<void> {
  const local = new Set(steps.map((s) => s.id));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, StepModel[]>();
  const position = new Map(steps.map((s, i) => [s.id, i]));
  const ready = new WrittenOrder((s: StepModel) => position.get(s.id)!);
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
    // Restored (resumed) steps finish synchronously; drain them without awaiting a race. Ready steps
    // start one event-loop turn apart, in the order they are written: each runs to its first wait
    // (work handed to the s3 thread, a file-system call, a connection opening) before the next one
    // starts, so the next one's synchronous start (a driver's first load, ~30 ms) cannot hold back the
    // one written before it.
    while (ready.size && !stopped()) {
      launch(ready.take());
      if (ready.size) await nextTurn();
    }
    if (!running.size) break;
    await Promise.race(running);
  }
}
