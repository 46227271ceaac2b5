/**
 * The run-wide cap on steps running at once (`--max-parallel`, spec §12, default 64): 5,000
 * `needs: []` steps must not start 5,000 processes (EMFILE under `ulimit -n 1024`). One pool per
 * run, shared by every section and sub-runbook level; waiters are served in the order they asked.
 */
export const DEFAULT_MAX_PARALLEL = 64;

export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves when a slot is taken; call the returned function once to give it back. */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

const pools = new WeakMap<object, Slots>();

/** The pool of a run (keyed by its context object). */
export function slotsOf(run: object, size = DEFAULT_MAX_PARALLEL): Slots {
  let s = pools.get(run);
  if (!s) pools.set(run, (s = new Slots(Math.max(1, size))));
  return s;
}
