/**
 * The step graph: duplicate ids, `needs` naming unknown or later steps, cycles (shown as a path),
 * connections naming a missing entry or one of the wrong kind.
 */
import type { Diagnostic } from './errors.js';
import type { BodyModel, RunbookModel, StepModel } from './model.js';
import { closest } from './suggest.js';
import { stepType } from '../steps/registry.js';

export function checkGraph(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;

  // Duplicate ids: the model keeps the first; report every later one.
  const firstAt = new Map<string, StepModel>();
  const phaseIds = new Map<string, number>();
  model.phases.forEach((p, i) => {
    if (phaseIds.has(p.id)) {
      out.push({ code: 'DUPLICATE_ID', message: `duplicate phase id '${p.id}' (first at line ${src.pos(['phases', phaseIds.get(p.id)!]).line})`, ...src.pos([...p.path, 'id']) });
    } else phaseIds.set(p.id, i);
  });
  const sections: { steps: StepModel[]; phaseIndex: number }[] = [];
  model.phases.forEach((p, i) => {
    sections.push({ steps: p.steps, phaseIndex: i }, { steps: p.finally, phaseIndex: i });
  });
  sections.push({ steps: model.finally, phaseIndex: model.phases.length });
  // Positions are looked up only for an actual duplicate: a YAML lookup per step is most of this check.
  const idAt = (st: StepModel) => src.pos([...st.path.slice(0, -1), 'id']);
  for (const { steps } of sections) {
    for (const s of steps) {
      const first = firstAt.get(s.id);
      if (first !== undefined) {
        out.push({ code: 'DUPLICATE_ID', message: `duplicate step id '${s.id}' (first at line ${idAt(first).line})`, ...idAt(s) });
      } else firstAt.set(s.id, s);
    }
  }

  // needs: known, not in a later phase; a finally section may name its phase's steps.
  const phaseOf = new Map<string, number>();
  for (const { steps, phaseIndex } of sections) for (const s of steps) if (!phaseOf.has(s.id)) phaseOf.set(s.id, phaseIndex);
  for (const { steps, phaseIndex } of sections) {
    const local = new Set(steps.map((s) => s.id));
    for (const s of steps) {
      for (let i = 0; i < s.needs.length; i++) {
        const n = s.needs[i];
        // The common case, a need on another step of this section, is never a diagnostic: it costs
        // one lookup and no allocation.
        if (n !== s.id && local.has(n)) continue;
        const stepPath = s.path.slice(0, -1);
        const at = () => (s.needsExplicit ? src.pos([...stepPath, 'needs', i]) : src.pos(stepPath));
        // An implied `needs` on a step of the same id is the duplicate id, reported above.
        if (n === s.id && !s.needsExplicit) continue;
        if (n === s.id) {
          out.push({ code: 'CYCLE', message: `step '${s.id}' needs itself`, ...at() });
        } else if (!phaseOf.has(n)) {
          const hint = closest(n, [...phaseOf.keys()]);
          out.push({ code: 'UNKNOWN_NEEDS', message: `step '${s.id}' needs unknown step '${n}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...at() });
        } else if (!local.has(n) && phaseOf.get(n)! > phaseIndex) {
          out.push({ code: 'NEEDS_LATER', message: `step '${s.id}' needs '${n}', which runs in a later phase`, ...at() });
        } else if (!local.has(n) && s.section === 'steps' && phaseOf.get(n) === phaseIndex && model.steps.get(n)?.section === 'finally') {
          out.push({ code: 'NEEDS_LATER', message: `step '${s.id}' needs '${n}', a finally step that runs after it`, ...at() });
        }
      }
    }
    out.push(...findCycles(steps, local, model));
  }

  // Connections named by steps (and rollbacks) exist and are of the right kind.
  const checkConnection = (s: StepModel, b: BodyModel) => {
    const t = stepType(b.type);
    const name = (b.body as { connection?: unknown } | undefined)?.connection;
    if (!t?.connectionKind || typeof name !== 'string') return;
    const c = model.connections[name];
    const kinds = t.connectionKind;
    if (c && (kinds === c.kind || (Array.isArray(kinds) && kinds.includes(c.kind)))) return;
    const at = src.pos([...b.path, 'connection']);
    if (!c) {
      const hint = closest(name, Object.keys(model.connections));
      out.push({ code: 'UNKNOWN_CONNECTION', message: `step '${s.id}': unknown connection '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...at });
    } else {
      out.push({ code: 'CONNECTION_KIND', message: `step '${s.id}': connection '${name}' is ${c.kind}, a ${b.type} step needs ${[kinds].flat().join(' or ')}`, ...at });
    }
  };
  for (const s of model.steps.values()) {
    checkConnection(s, s);
    if (s.rollback) checkConnection(s, s.rollback);
  }
  return out;
}

/** Cycles among the steps of one section, each reported once as `a → b → c → a`. */
function findCycles(steps: StepModel[], local: Set<string>, model: RunbookModel): Diagnostic[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  const visit = (id: string) => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const n of byId.get(id)?.needs ?? []) {
      if (!local.has(n) || n === id) continue;
      if (state.get(n) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(n)), n];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          const s = byId.get(n)!;
          out.push({ code: 'CYCLE', message: `cycle in needs: ${cycle.join(' → ')}`, ...model.src.pos([...s.path.slice(0, -1), 'needs']) });
        }
      } else if (!state.has(n)) visit(n);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const s of steps) if (!state.has(s.id)) visit(s.id);
  return out;
}
