/**
 * Names a runbook declares (params, secrets, connections, outputs, measures, step and phase ids) become
 * keys of plain objects at run time (`params.x`, `steps.<id>.outputs.y`). `__proto__`, `constructor`
 * and `prototype` would reach the object's prototype there, so they are rejected here, where the
 * operator can rename them.
 */
import type { Diagnostic } from './errors.js';
import type { RunbookModel } from './model.js';
import type { Path } from './load.js';
import { RESERVED_NAMES } from './limits.js';

export function checkNames(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  const src = model.src;
  const check = (name: string, what: string, path: Path, key = true) => {
    if (RESERVED_NAMES.includes(name)) {
      out.push({ code: 'RESERVED_NAME', message: `${what} '${name}' is a reserved name (${RESERVED_NAMES.join(', ')} reach an object's prototype): choose another name`, ...src.pos(path, { key }) });
    }
  };
  for (const p of model.params) check(p.name, 'param', ['params', p.name]);
  for (const name of Object.keys(model.secrets)) check(name, 'secret', ['secrets', name]);
  for (const name of Object.keys(model.connections)) check(name, 'connection', ['connections', name]);
  for (const name of Object.keys(model.measure)) check(name, 'measure', ['measure', name]);
  check(model.id, 'runbook id', ['runbook'], false);
  model.phases.forEach((p) => check(p.id, 'phase id', [...p.path, 'id'], false));
  for (const s of allSteps(model)) {
    check(s.id, 'step id', [...s.path.slice(0, -1), 'id'], false);
    for (const [name, o] of Object.entries(s.outputs)) check(name, `step '${s.id}': output`, o.path);
  }
  return out;
}

function allSteps(model: RunbookModel) {
  return [...model.phases.flatMap((p) => [...p.steps, ...p.finally]), ...model.finally];
}
