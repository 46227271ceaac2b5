/**
 * Random runbooks for the resume property test: phases (sequential or a `needs` graph), shell steps,
 * for_each (flat, and over a sub-runbook whose own steps may be for_each), failures, rollbacks,
 * phase and run finally. Every shell body appends its own instance address to `$WORK/count`
 * (a rollback appends `rb:<address>`), so a run's effects can be counted per instance.
 *
 * Each body also appends its number to `$WORK/bodies` (which bodies a run reached).
 * Kill points: a chosen body SIGKILLs the interpreter (`kill -9 $PPID`, bash's parent is the
 * interpreter) once — before or after its count line — guarded by a marker file, so the point fires
 * once and a resume goes past it. The same runbook without kill points is the reference run.
 *
 * Determinism: the reference and the killed run must do the same work, so a failure that fails the
 * run (on_failure: abort, which cancels whatever runs beside it) only appears where nothing runs
 * beside it: sequential phases, for_each over a sub-runbook with concurrency 1. In `needs` graphs
 * failures use on_failure: continue.
 */

/** mulberry32: small, seedable, good enough to pick shapes. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Generated {
  /** file name → text, with kill points (the killed run). */
  files: Record<string, string>;
  /** The same runbooks without kill points (the reference run). */
  reference: Record<string, string>;
  /** How many kill points were placed. */
  kills: number;
  description: string;
}

interface Body {
  /** printf format and args producing the address (no glob characters reach the shell unquoted). */
  fmt: string;
  args: string;
  fail?: string;
}

/**
 * `reached`: numbers of the bodies the reference run executed (its `$WORK/bodies`): kill points are
 * placed only there, so every case is killed at least once.
 */
export function generate(seed: number, killSeed = seed, reached?: number[]): Generated {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const chance = (p: number) => r() < p;
  let bodies = 0;
  const killAt = new Map<number, 'before' | 'after'>();
  const shell = (b: Body, withKills: boolean, indent: string): string => {
    const n = bodies++;
    const line = `printf '${b.fmt}\\n' ${b.args} >> "$WORK/count"; echo ${n} >> "$WORK/bodies"`;
    const kill = `if [ ! -e "$WORK/k${n}" ]; then touch "$WORK/k${n}"; kill -9 $PPID; exit 0; fi`;
    const k = withKills ? killAt.get(n) : undefined;
    const lines = [k === 'before' ? kill : '', line, k === 'after' ? kill : '', b.fail ?? ''].filter(Boolean);
    return `${indent}shell:\n${indent}  run: |\n${lines.map((l) => `${indent}    ${l}`).join('\n')}\n`;
  };

  // Shapes are drawn once; text is rendered twice (with and without kill points) from the same shapes.
  interface StepShape {
    id: string;
    kind: 'shell' | 'items' | 'sub' | 'sub-items';
    needs?: string[];
    fail?: 'abort' | 'continue';
    failItem: number;
    items: number;
    concurrency: number;
    rollback: boolean;
    rollbackFails: boolean;
    idempotent: boolean;
  }
  interface ChildShape {
    id: string;
    items: number;
    fail: boolean;
    rollback: boolean;
  }
  const childSteps: ChildShape[] = Array.from({ length: 1 + Math.floor(r() * 2) }, (_, i) => ({
    id: `c${i + 1}`,
    items: chance(0.4) ? 2 : 0,
    fail: chance(0.15),
    rollback: chance(0.5),
  }));
  let stepNo = 0;
  const phases = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, p) => {
    const dag = chance(0.4);
    const steps: StepShape[] = [];
    for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) {
      const id = `s${++stepNo}`;
      const kind = pick(['shell', 'shell', 'items', 'sub', 'sub-items'] as const);
      const failing = chance(0.15);
      const earlier = steps.map((s) => s.id);
      steps.push({
        id,
        kind,
        needs: dag ? earlier.filter(() => chance(0.5)) : undefined,
        fail: failing ? (dag ? 'continue' : pick(['abort', 'abort', 'continue'] as const)) : undefined,
        failItem: Math.floor(r() * 3) as number,
        items: 2 + Math.floor(r() * 2),
        concurrency: kind === 'items' ? 1 + Math.floor(r() * 2) : 1,
        rollback: chance(0.6),
        rollbackFails: chance(0.05),
        idempotent: chance(0.2),
      });
      // An item that fails with on_failure: abort stops the items not yet started, and which have
      // started by then depends on timing when two run at once: such a step runs its items one at a
      // time, as the rule above says (the draw is still made, so every other shape stays the same).
      if (steps[steps.length - 1].fail === 'abort') steps[steps.length - 1].concurrency = 1;
    }
    return { id: `p${p + 1}`, dag, steps, finally: chance(0.3) };
  });
  const runFinally = chance(0.3);

  const render = (withKills: boolean): Record<string, string> => {
    bodies = 0;
    let top = `runbook: prop\nphases:\n`;
    for (const ph of phases) {
      top += `  - id: ${ph.id}\n    steps:\n`;
      for (const s of ph.steps) {
        top += `      - id: ${s.id}\n`;
        if (s.needs) top += `        needs: [${s.needs.join(', ')}]\n`;
        if (s.fail === 'continue') top += `        on_failure: continue\n`;
        if (s.idempotent && s.kind !== 'sub' && s.kind !== 'sub-items') top += `        idempotent: true\n`;
        const items = s.kind === 'items' || s.kind === 'sub-items';
        if (items) top += `        for_each: [${Array.from({ length: s.items }, (_, i) => i * 10).join(', ')}]\n        concurrency: ${s.concurrency}\n`;
        const at = items ? { fmt: `${s.id}[%s]`, args: '${{ index }}' } : { fmt: s.id, args: '' };
        if (s.kind === 'shell' || s.kind === 'items') {
          const fail = s.fail ? (items ? `test \${{ index }} -ne ${s.failItem % s.items}` : 'exit 1') : undefined;
          top += shell({ ...at, fail }, withKills, '        ');
        } else {
          // A child's failure fails the run whatever the parent's on_failure, so children fail only in sequential phases.
          const atValue = items ? `${s.id}[\${{ index }}]` : s.id;
          top += `        runbook: { file: child.yaml, params: { at: "${atValue}", fail: ${!!s.fail && !ph.dag} } }\n`;
        }
        if (s.rollback) {
          top += `        rollback:\n`;
          top += shell({ fmt: `rb:${at.fmt}`, args: at.args, fail: s.rollbackFails ? 'exit 1' : undefined }, withKills, '          ');
        }
      }
      if (ph.finally) {
        top += `    finally:\n      - id: ${ph.id}-fin\n`;
        top += shell({ fmt: `${ph.id}-fin`, args: '' }, withKills, '        ');
      }
    }
    if (runFinally) top += `finally:\n  - id: run-fin\n${shell({ fmt: 'run-fin', args: '' }, withKills, '    ')}`;
    let child = `runbook: child\nparams:\n  at: { type: string, required: true }\n  fail: { type: boolean, default: false }\nphases:\n  - id: c\n    steps:\n`;
    for (const c of childSteps) {
      child += `      - id: ${c.id}\n`;
      // A failing child step fails only when its parent asks (params.fail): the same child serves both.
      if (c.items) child += `        for_each: [0, 1]\n`;
      const fmt = c.items ? `%s.${c.id}[%s]` : `%s.${c.id}`;
      const args = c.items ? '${{ params.at }} ${{ index }}' : '${{ params.at }}';
      const fail = c.fail ? `if [ \${{ params.fail }} = true ]; then exit 1; fi` : undefined;
      child += shell({ fmt, args, fail }, withKills, '        ');
      if (c.rollback) {
        child += `        rollback:\n`;
        child += shell({ fmt: `rb:${fmt}`, args }, withKills, '          ');
      }
    }
    return { 'rb.yaml': top, 'child.yaml': child };
  };
  render(false);
  const total = bodies;
  // Kill points come from their own seed: one shape (one reference run) serves several kill variants.
  const k = rng(killSeed ^ 0x5eed);
  const kills = 1 + Math.floor(k() * 2);
  const candidates = reached?.length ? reached : Array.from({ length: total }, (_, i) => i);
  for (let i = 0; i < kills; i++) killAt.set(candidates[Math.floor(k() * candidates.length)], k() < 0.5 ? 'before' : 'after');
  const files = render(true);
  const reference = render(false);
  return {
    files,
    reference,
    kills: killAt.size,
    description: `${phases.length} phase(s), ${stepNo} step(s), ${killAt.size} kill point(s) of ${total} bodies`,
  };
}
