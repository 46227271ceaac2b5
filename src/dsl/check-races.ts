/**
 * Warnings for a step that reads another step's results without waiting for it: in the same
 * section without a `needs` path between them (they may run at the same time, and what it reads
 * depends on timing), or in a later phase (it will always read `pending`). Rollbacks and finally
 * steps read what came before them, so they are never racing with the steps of their phase.
 */
import type { Diagnostic } from './errors.js';
import type { RunbookModel, StepModel } from './model.js';
import type { Path } from './load.js';
import { parseBareExpression, parseTemplate, references, type Expr } from './expr/index.js';

/** `steps.<id>` references in a step's own expressions (not its rollback), with where they are. */
function stepReads(s: StepModel): { id: string; path: Path }[] {
  const out: { id: string; path: Path }[] = [];
  const collect = (expr: Expr, path: Path) => {
    for (const r of references(expr)) if (r.path[0] === 'steps' && r.path[1]) out.push({ id: r.path[1], path });
  };
  const walk = (v: unknown, path: Path, bare: boolean) => {
    try {
      if (typeof v === 'string') {
        if (v.includes('${{')) for (const p of parseTemplate(v)) p.kind === 'expr' && collect(p.expr, path);
        else if (bare) collect(parseBareExpression(v).expr, path);
      } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], bare));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k], bare);
    } catch {
      // Syntax errors are reported by the expression check.
    }
  };
  if (s.type !== 'assert') walk(s.body, s.path, false);
  else walk(s.body, s.path, true);
  for (const loc of [s.when, s.for_each, s.until?.condition, ...s.expect, ...Object.values(s.outputs)]) {
    if (loc) walk(loc.value, loc.path, true);
  }
  return out;
}

export function checkRaces(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const sections: StepModel[][] = [...model.phases.flatMap((p) => [p.steps, p.finally]), model.finally];
  const sectionOf = new Map<string, number>();
  sections.forEach((sec, i) => sec.forEach((s) => sectionOf.has(s.id) || sectionOf.set(s.id, i)));

  sections.forEach((section, si) => {
    const byId = new Map(section.map((s) => [s.id, s]));
    const ancestors = new Map<string, Set<string>>();
    const ancestorsOf = (id: string, seen = new Set<string>()): Set<string> => {
      const known = ancestors.get(id);
      if (known) return known;
      const set = new Set<string>();
      if (seen.has(id)) return set; // cycles are reported elsewhere
      seen.add(id);
      for (const n of byId.get(id)?.needs ?? []) {
        if (!byId.has(n)) continue;
        set.add(n);
        for (const a of ancestorsOf(n, seen)) set.add(a);
      }
      ancestors.set(id, set);
      return set;
    };
    for (const s of section) {
      const reported = new Set<string>();
      for (const { id, path } of stepReads(s)) {
        if (id === s.id || reported.has(id) || !sectionOf.has(id)) continue;
        const other = sectionOf.get(id)!;
        const later = other > si;
        if (other === si && !ancestorsOf(s.id).has(id)) {
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
