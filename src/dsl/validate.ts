/**
 * The load pipeline: YAML text → document with positions → schema → model → semantic checks
 * (graph, expressions, params, sub-runbooks). Collects every diagnostic of every file.
 */
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { isError, type Diagnostic } from './errors.js';
import { loadSource, SourceFile } from './load.js';
import { buildModel, type RunbookModel } from './model.js';
import { validateSchema } from './validate-schema.js';
import { checkGraph } from './check-graph.js';
import { checkExpressions, outputReferences } from './check-expressions.js';
import { checkRaces } from './check-races.js';
import { checkParamDefaults } from './params.js';
import { checkNames } from './check-names.js';
import { checkSteps } from './check-steps.js';
import { checkHosts } from './check-hosts.js';
import { checkRemoteConnections } from './check-remote-connections.js';
import { MAX_RUNBOOK_DEPTH } from './limits.js';
import { hasExpressions } from './expr/index.js';
import { closest } from './suggest.js';

export interface LoadedRunbook {
  file: string;
  src?: SourceFile;
  model?: RunbookModel;
  diagnostics: Diagnostic[];
  /** Sub-runbooks by absolute path (for `runbook:` steps with a static file). */
  children: Map<string, LoadedRunbook>;
}

export function loadRunbook(file: string, stack: string[] = [], cache = new Map<string, LoadedRunbook>()): LoadedRunbook {
  const abs = resolve(file);
  const cached = cache.get(abs);
  if (cached) return cached;
  const result: LoadedRunbook = { file, diagnostics: [], children: new Map() };
  cache.set(abs, result);
  const src = loadSource(file);
  if (!(src instanceof SourceFile)) {
    result.diagnostics.push(src);
    return result;
  }
  result.src = src;
  result.diagnostics.push(...src.diagnostics.filter((d) => d.severity !== 'warning'));
  if (result.diagnostics.length) return result;
  if (src.data === null || typeof src.data !== 'object' || Array.isArray(src.data)) {
    result.diagnostics.push({ code: 'SCHEMA', message: 'a runbook file must be a YAML map (runbook:, phases:, …)', ...src.at(0) });
    return result;
  }
  const schemaErrors = validateSchema(src);
  result.diagnostics.push(...schemaErrors);

  // The semantic checks run even when the schema found errors, so that one bad id does not hide
  // six other mistakes. The model of a file that failed the schema is built as far as its shape
  // allows and is never handed on (result.model stays unset): a check that trips over a shape the
  // schema already reported is skipped, and a semantic error at the place of a schema error is
  // the same mistake told twice.
  let model: RunbookModel;
  try {
    model = buildModel(src);
  } catch {
    return result;
  }
  if (!schemaErrors.length) result.model = model;
  const schemaAt = new Set(schemaErrors.map((d) => d.offset));
  const checks = [checkGraph, checkExpressions, checkParamDefaults, checkRaces, checkNames, checkSteps, checkHosts, checkRemoteConnections, (m: RunbookModel) => checkSubRunbooks(m, [...stack, abs], cache, result)];
  for (const check of checks) {
    let found: Diagnostic[];
    try {
      found = check(model);
    } catch (e) {
      if (!schemaErrors.length) throw e;
      continue;
    }
    result.diagnostics.push(...(schemaErrors.length ? found.filter((d) => !schemaAt.has(d.offset)) : found));
  }
  return result;
}

function checkSubRunbooks(model: RunbookModel, stack: string[], cache: Map<string, LoadedRunbook>, parent: LoadedRunbook): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const s of model.steps.values()) {
    for (const b of [s, s.rollback]) {
      if (!b || b.type !== 'runbook') continue;
      const body = b.body as { file: string; params?: Record<string, unknown> };
      if (hasExpressions(body.file)) continue;
      const at = () => model.src.pos([...b.path, 'file']);
      const abs = resolve(model.baseDir, body.file);
      if (!existsSync(abs)) {
        out.push({ code: 'RUNBOOK_FILE', message: `step '${s.id}': sub-runbook file '${body.file}' not found (looked at ${relative(process.cwd(), abs) || abs})`, ...at() });
        continue;
      }
      // `stack` holds this file and its callers: the child would nest stack.length deep.
      if (stack.length > MAX_RUNBOOK_DEPTH) {
        out.push({ code: 'RUNBOOK_DEPTH', message: `step '${s.id}': sub-runbooks nest more than ${MAX_RUNBOOK_DEPTH} deep here (${relative(process.cwd(), stack[0]) || stack[0]} → … → ${body.file})`, ...at() });
        continue;
      }
      if (stack.includes(abs)) {
        const chain = [...stack.slice(stack.indexOf(abs)), abs].map((f) => relative(process.cwd(), f) || f);
        out.push({ code: 'RUNBOOK_RECURSION', message: `step '${s.id}': runbooks call each other in a loop: ${chain.join(' → ')}`, ...at() });
        continue;
      }
      // Named as the user would type it (relative to where they are), like the file they gave.
      const child = loadRunbook(relative(process.cwd(), abs) || abs, stack, cache);
      parent.children.set(abs, child);
      const childErrors = child.diagnostics.filter(isError).length;
      if (childErrors) {
        out.push({ code: 'RUNBOOK_INVALID', message: `step '${s.id}': sub-runbook '${body.file}' is invalid (${childErrors} error${childErrors > 1 ? 's' : ''} in that file)`, ...at() });
        out.push(...child.diagnostics.filter((d) => !out.includes(d)));
        continue;
      }
      const sub = child.model!;
      out.push(...checkSubRunbookOutputs(model, s.id, [...Object.keys(sub.measure), ...Object.keys(s.outputs)], sub.id));
      const given = body.params ?? {};
      for (const name of Object.keys(given)) {
        if (!sub.params.some((p) => p.name === name)) {
          const hint = closest(name, sub.params.map((p) => p.name));
          out.push({ code: 'PARAM_UNKNOWN', message: `step '${s.id}': runbook '${sub.id}' has no param '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`, ...model.src.pos([...b.path, 'params', name], { key: true }) });
        }
      }
      for (const p of sub.params) {
        if (p.required && p.default === undefined && !(p.name in given)) {
          out.push({ code: 'PARAM_REQUIRED', message: `step '${s.id}': runbook '${sub.id}' needs param '${p.name}'`, ...at() });
        }
      }
    }
  }
  return out;
}

/**
 * A `runbook:` step's outputs are its sub-runbook's `measure` values and its own `outputs`:
 * `steps.<id>.outputs.<name>` read anywhere in the parent must name one of them.
 */
function checkSubRunbookOutputs(model: RunbookModel, stepId: string, measures: string[], subId: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const ref of outputReferences(model)) {
    if (ref.step !== stepId || measures.includes(ref.output)) continue;
    const hint = closest(ref.output, measures);
    out.push({
      code: 'UNKNOWN_OUTPUT',
      message: `step '${stepId}' has no output '${ref.output}': its outputs are the measures of runbook '${subId}' and its own outputs${hint ? ` (did you mean '${hint}'?)` : measures.length ? ` (${measures.join(', ')})` : ' (it has no measure)'}`,
      ...ref.at(),
    });
  }
  return out;
}

/** Every diagnostic of a file and its sub-runbooks, deduplicated. */
export function allDiagnostics(r: LoadedRunbook): Diagnostic[] {
  const seen = new Set<string>();
  return r.diagnostics.filter((d) => {
    const k = `${d.file}:${d.offset}:${d.code}:${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
