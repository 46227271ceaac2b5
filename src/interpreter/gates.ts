/**
 * Issue 11.17: a run nobody can answer must not start and then stop at its first gate. Before
 * anything runs, the `confirm: true` and `approve` steps (and rollbacks with `confirm`) that would
 * need `--yes` are listed; a step whose guard the plan already knows is false cannot run and is
 * left out. Sub-runbooks loaded with the file are looked into too.
 */
import type { BodyModel, RunbookModel } from '../dsl/model.js';
import type { LoadedRunbook } from '../dsl/validate.js';
import { resolve } from 'node:path';
import { UNKNOWN } from '../dsl/expr/index.js';
import { planScopes } from './plan.js';
import { evaluateBare } from './resolve.js';

export interface Gate {
  /** The step's address (`parent.child` inside a sub-runbook). */
  step: string;
  kind: 'confirm' | 'approve' | 'rollback confirm';
  where: string;
}

const isGate = (b: BodyModel) => b.confirm || b.type === 'approve';

export function gatedSteps(loaded: LoadedRunbook & { model: RunbookModel }, params: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Gate[] {
  const out: Gate[] = [];
  walk(loaded, loaded.model, params, env, '', out, 0);
  return out;
}

function walk(loaded: LoadedRunbook, model: RunbookModel, params: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string, out: Gate[], depth: number): void {
  const scope = planScopes(model, params, env).evaluate;
  // Only what the plan knows for sure rules a gate out: a guard that is false before anything ran.
  const cannotRun = (b: BodyModel) => {
    if (!b.when) return false;
    try {
      const v = evaluateBare(b.when.value, { ...scope, phase: { id: UNKNOWN, elapsed: UNKNOWN, budget: UNKNOWN }, item: UNKNOWN, index: UNKNOWN, self: UNKNOWN });
      return v === false || v === null;
    } catch {
      return false;
    }
  };
  for (const phase of model.phases) {
    if (phase.when && cannotRun({ when: phase.when } as BodyModel)) continue;
    for (const s of [...phase.steps, ...phase.finally]) out.push(...gatesOf(s, prefix, cannotRun));
  }
  for (const s of model.finally) out.push(...gatesOf(s, prefix, cannotRun));
  if (depth >= 16) return;
  for (const s of model.steps.values()) {
    if (s.type !== 'runbook' || cannotRun(s)) continue;
    const file = (s.body as { file?: unknown }).file;
    const child = typeof file === 'string' ? loaded.children.get(resolve(model.baseDir, file)) : undefined;
    if (!child?.model) continue;
    // The child's params are not resolved here: its guards over them are unknown, so its gates count.
    const childParams = Object.fromEntries(child.model.params.map((p) => [p.name, UNKNOWN]));
    walk(child, child.model, childParams, env, `${prefix}${s.id}.`, out, depth + 1);
  }
}

function gatesOf(s: import('../dsl/model.js').StepModel, prefix: string, cannotRun: (b: BodyModel) => boolean): Gate[] {
  if (cannotRun(s)) return [];
  const out: Gate[] = [];
  if (isGate(s)) out.push({ step: prefix + s.id, kind: s.type === 'approve' ? 'approve' : 'confirm', where: s.where });
  if (s.rollback && isGate(s.rollback)) out.push({ step: prefix + s.id, kind: 'rollback confirm', where: s.where });
  return out;
}
