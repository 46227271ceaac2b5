/**
 * Per-step rules the schema cannot say: `until.every` within `until.within`, rollback coverage
 * (NO_ROLLBACK, spec §12), and a rollback and `irreversible` on the same step.
 */
import type { Diagnostic } from './errors.js';
import type { RunbookModel, StepModel } from './model.js';
import { formatDuration } from './duration.js';
import { changesWorld, coveredSteps, irreversibleWhy } from './rollback-coverage.js';

export function checkSteps(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  const stepPath = (s: StepModel) => s.path.slice(0, -1);
  for (const s of model.steps.values()) {
    const u = s.until;
    if (u && u.within_ms !== undefined && u.every_ms > u.within_ms) {
      out.push({
        code: 'UNTIL_EVERY',
        message: `step '${s.id}': until polls every ${formatDuration(u.every_ms)} but gives up within ${formatDuration(u.within_ms)}: it could never poll twice (make 'every' at most 'within')`,
        ...src.pos([...stepPath(s), 'until', 'every']),
      });
    }
    if (s.rollback && s.irreversible !== undefined) {
      out.push({
        code: 'IRREVERSIBLE_ROLLBACK',
        message: `step '${s.id}' has a rollback and says it is irreversible: keep one of them`,
        ...src.pos([...stepPath(s), 'irreversible'], { key: true }),
      });
    }
  }
  for (const s of coveredSteps(model)) {
    if (s.rollback || irreversibleWhy(s) !== undefined || !changesWorld(s)) continue;
    out.push({
      code: 'NO_ROLLBACK',
      severity: 'warning',
      message: `step '${s.id}' changes the world (${s.type}) but has no rollback: add 'rollback:' or 'irreversible: "<why it cannot be undone>"'`,
      ...src.pos([...stepPath(s), 'id']),
    });
  }
  return out;
}
