/**
 * Resume and edits (spec §8): `run.started.outline` pins a content hash of each step's definition;
 * resume lists the steps whose definition changed since the crash and refuses without
 * `--accept-changes`. The hash covers what the step does (body, guards, retry, rollback, …), not
 * where it sits in the file; a `runbook:` step with a literal file also covers the sub-runbook's
 * steps, so an edit inside a child shows as a change of the step that runs it.
 */
import { resolve } from 'node:path';
import type { BodyModel, StepModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { RunbookModel } from '../dsl/model.js';
import type { OutlinePhase } from './events.js';

const j = (v: unknown) => (v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));
const r = (x: { attempts: number; delay_ms: number; backoff: number; max_delay_ms?: number }) => `${x.attempts},${x.delay_ms},${x.backoff},${x.max_delay_ms ?? ''}`;

// One canonical string, built by hand: JSON.stringify of an object per step cost more than a control step's budget.
const bodyOf = (b: BodyModel) =>
  [b.type, j(b.body), j(b.when?.value), b.timeout_explicit ? b.timeout_ms : '', r(b.retry), b.expect.map((e) => j(e.value)).join('\u0001'), b.confirm].join('\u0002');

export function stepHasher(loaded: LoadedRunbook): (s: StepModel) => string {
  const childHashes = new Map<string, string>();
  const childHash = (file: string, from: LoadedRunbook, depth: number): string => {
    const abs = resolve(from.model!.baseDir, file);
    const known = childHashes.get(abs);
    if (known !== undefined) return known;
    const child = from.children.get(abs);
    let h = 'unloaded';
    if (child?.model && depth < 16) {
      childHashes.set(abs, 'cycle');
      h = digest([...child.model.steps.values()].map((s) => hashOf(s, child, depth + 1)).join(','));
    }
    childHashes.set(abs, h);
    return h;
  };
  const hashOf = (s: StepModel, from: LoadedRunbook, depth: number): string => {
    const file = (s.body as { file?: unknown } | undefined)?.file;
    const outputs = Object.keys(s.outputs).length ? Object.entries(s.outputs).map(([k, v]) => `${k}=${j(v.value)}`).join('\u0001') : '';
    const def = [
      bodyOf(s),
      s.timeout_ms,
      s.phase,
      s.section,
      s.needs.join(','),
      s.until ? `${j(s.until.condition.value)},${s.until.every_ms},${s.until.within_ms ?? ''}` : '',
      outputs,
      s.on_failure,
      s.rollback ? `${bodyOf(s.rollback)}\u0003${s.rollback.idempotent}` : '',
      s.idempotent,
      j(s.for_each?.value),
      s.concurrency,
      s.type === 'runbook' && typeof file === 'string' && !file.includes('${{') ? childHash(file, from, depth) : '',
    ].join('\u0004');
    return digest(`${s.id}:${def}`);
  };
  return (s) => hashOf(s, loaded, 0);
}

/**
 * Two 32-bit FNV-1a lanes (64 bits): a change detector, not a security boundary — and a sha256 per
 * step cost more than the whole interpreter overhead of a control step (bench/interpreter.mjs).
 */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

/** Steps added, removed or changed between the outline the run started with and the runbook now. */
export function changedSteps(before: OutlinePhase[] | undefined, now: OutlinePhase[]): string[] {
  if (!before) return [];
  const old = new Map(before.flatMap((p) => p.steps.map((s) => [s.id, s.hash] as const)));
  // A journal from before hashes were pinned cannot tell.
  if ([...old.values()].every((h) => h === undefined)) return [];
  const cur = new Map(now.flatMap((p) => p.steps.map((s) => [s.id, s.hash] as const)));
  const out: string[] = [];
  for (const [id, h] of cur) if (!old.has(id)) out.push(`${id} (added)`);
  else if (old.get(id) !== h) out.push(id);
  for (const id of old.keys()) if (!cur.has(id)) out.push(`${id} (removed)`);
  return out;
}

/** The phases and steps as planned (`run.started.outline`), each step with its content hash. */
export function outlineOf(model: RunbookModel, loaded?: LoadedRunbook): OutlinePhase[] {
  const hash = loaded ? stepHasher(loaded) : undefined;
  return model.phases.map((p) => ({
    id: p.id,
    ...(p.title ? { title: p.title } : {}),
    ...(p.budget_ms !== undefined ? { budget_ms: p.budget_ms } : {}),
    steps: [...p.steps, ...p.finally].map((s) => ({
      id: s.id,
      ...(s.title ? { title: s.title } : {}),
      type: s.type,
      needs: s.needs,
      has_rollback: !!s.rollback,
      where: s.where,
      ...(s.estimate_ms !== undefined ? { estimate_ms: s.estimate_ms } : {}),
      ...(hash ? { hash: hash(s) } : {}),
    })),
  }));
}
