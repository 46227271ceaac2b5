/**
 * Rollback coverage (spec §12): which steps change the world, and of those which have a rollback or
 * say why they cannot (`irreversible`). Each step type decides for its own bodies (`readOnly` on
 * StepType); control steps change nothing themselves (a `runbook:` step's own steps are counted in
 * their file).
 */
import type { BodyModel, RunbookModel, StepModel } from './model.js';
import { CONTROL_BODIES } from './schema-core.js';
import { stepType } from '../steps/registry.js';

export function changesWorld(b: BodyModel): boolean {
  if ((CONTROL_BODIES as readonly string[]).includes(b.type)) return false;
  const t = stepType(b.type);
  if (!t) return true;
  try {
    return !(t.readOnly?.(b.body as never) ?? false);
  } catch {
    // A body shape a type did not expect (e.g. a field given as an expression): assume it changes.
    return true;
  }
}

/** Why a step cannot be undone: its own `irreversible`, or its type's when no body of it can (notify). */
export function irreversibleWhy(s: StepModel): string | undefined {
  return s.irreversible ?? stepType(s.type)?.irreversible;
}

export interface RollbackCoverage {
  /** Steps that change the world. */
  changing: string[];
  withRollback: string[];
  irreversible: { step: string; why: string }[];
  /** Changing steps with neither: each one a NO_ROLLBACK warning. */
  uncovered: string[];
}

export function rollbackCoverage(model: RunbookModel): RollbackCoverage {
  const c: RollbackCoverage = { changing: [], withRollback: [], irreversible: [], uncovered: [] };
  for (const s of coveredSteps(model)) {
    if (!changesWorld(s)) continue;
    c.changing.push(s.id);
    const why = irreversibleWhy(s);
    if (s.rollback) c.withRollback.push(s.id);
    else if (why) c.irreversible.push({ step: s.id, why });
    else c.uncovered.push(s.id);
  }
  return c;
}

/**
 * The steps rollback is about: the phases' steps. Finally steps are not rolled back (they run after
 * the rollback, spec §4), so they are not counted.
 */
export function coveredSteps(model: RunbookModel): StepModel[] {
  return model.phases.flatMap((p) => p.steps);
}

/** `rollback for 11 of 13 changing steps; 2 marked irreversible`. */
export function describeCoverage(c: RollbackCoverage): string {
  if (!c.changing.length) return 'no step changes the world: nothing to roll back';
  const parts = [`rollback for ${c.withRollback.length} of ${c.changing.length} changing step${c.changing.length === 1 ? '' : 's'}`];
  if (c.irreversible.length) parts.push(`${c.irreversible.length} marked irreversible`);
  if (c.uncovered.length) parts.push(`${c.uncovered.length} with neither (${c.uncovered.join(', ')})`);
  return parts.join('; ');
}
