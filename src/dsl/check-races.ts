/**
 * Warnings for a step that reads another step's results without waiting for it: in the same
 * section without a `needs` path between them (they may run at the same time, and what it reads
 * depends on timing), or in a later phase (it will always read `pending`). Rollbacks and finally
 * steps read what came before them, so they are never racing with the steps of their phase.
 */
import type { Diagnostic } from './errors.js';
import type { RunbookModel, StepModel } from './model.js';
import { stepReads } from './check-expressions.js';

export function checkRaces(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const reads = stepReads(model);
  const sections: StepModel[][] = [...model.phases.flatMap((p) => [p.steps, p.finally]), model.finally];
  const sectionOf = new Map<string, number>();
  sections.forEach((sec, i) => sec.forEach((s) => sectionOf.has(s.id) || sectionOf.set(s.id, i)));

  sections.forEach((section, si) => {
    const byId = new Map(section.map((s) => [s.id, s]));
    // Whether `from` waits for `id` through a chain of needs in this section: a search that stops
    // at the first path found (most reads are of a direct need), not every step's whole ancestry.
    const waitsFor = (from: StepModel, id: string): boolean => {
      const seen = new Set<string>([from.id]);
      const todo = [from];
      for (let s = todo.pop(); s; s = todo.pop()) {
        for (const n of s.needs) {
          if (n === id) return true;
          const next = byId.get(n);
          if (next && !seen.has(n)) {
            seen.add(n);
            todo.push(next);
          }
        }
      }
      return false;
    };
    for (const s of section) {
      const reported = new Set<string>();
      for (const { id, path } of reads.get(s) ?? []) {
        if (id === s.id || reported.has(id) || !sectionOf.has(id)) continue;
        const other = sectionOf.get(id)!;
        const later = other > si;
        if (other === si && !waitsFor(s, id)) {
          reported.add(id);
          out.push({
            code: 'RACE',
            severity: 'warning',
            message: `step '${s.id}' reads steps.${id} but does not wait for it, so they may run at the same time: add '${id}' to its needs`,
            ...model.src.pos(path),
          });
        } else if (later) {
          reported.add(id);
          out.push({
            code: 'RACE',
            severity: 'warning',
            message: `step '${s.id}' reads steps.${id}, which runs after it: it will always read status 'pending'`,
            ...model.src.pos(path),
          });
        }
      }
    }
  });
  return out;
}
