/**
 * Resume and edits (spec §8): `run.started.outline` pins a content hash of each step's definition;
 * resume lists the steps whose definition changed since the crash and refuses without
 * `--accept-changes`. The hash covers what the step does (body, guards, retry, rollback, …), not
 * where it sits in the file; a `runbook:` step with a literal file also covers the sub-runbook's
 * steps, so an edit inside a child shows as a change of the step that runs it.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { BodyModel, StepModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import type { OutlinePhase } from './events.js';

const bodyOf = (b: BodyModel) => ({
  type: b.type,
  body: b.body,
  when: b.when?.value,
  timeout_ms: b.timeout_explicit ? b.timeout_ms : undefined,
  retry: b.retry,
  expect: b.expect.map((e) => e.value),
  confirm: b.confirm,
});

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
    const def = {
      ...bodyOf(s),
      timeout_ms: s.timeout_ms,
      phase: s.phase,
      section: s.section,
      needs: s.needs,
      until: s.until && { c: s.until.condition.value, every: s.until.every_ms, within: s.until.within_ms },
      outputs: Object.fromEntries(Object.entries(s.outputs).map(([k, v]) => [k, v.value])),
      on_failure: s.on_failure,
      rollback: s.rollback && { ...bodyOf(s.rollback), idempotent: s.rollback.idempotent },
      idempotent: s.idempotent,
      for_each: s.for_each?.value,
      concurrency: s.concurrency,
      child: s.type === 'runbook' && typeof file === 'string' && !file.includes('${{') ? childHash(file, from, depth) : undefined,
    };
    return digest(`${s.id}:${JSON.stringify(def)}`);
  };
  return (s) => hashOf(s, loaded, 0);
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

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
