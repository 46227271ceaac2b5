/**
 * Run parameters: `--set name=value` strings (or values passed by a parent runbook) parsed to the
 * declared type and checked against enum/pattern/required. Errors name the param's declaration.
 */
import type { Diagnostic } from './errors.js';
import type { ParamModel, RunbookModel } from './model.js';
import { parseDuration } from './duration.js';
import { abbreviationOf, closest } from './suggest.js';
import { hasExpressions } from './expr/index.js';

export type ParamSource = 'cli' | 'parent' | 'default';

/** Parse a value to a param's type; returns an error message instead when it does not fit. */
export function coerceParam(p: ParamModel, raw: unknown, source: ParamSource): { value?: unknown; error?: string } {
  const fromText = typeof raw === 'string' && source === 'cli';
  let v: unknown = raw;
  switch (p.type) {
    case 'string':
      if (typeof v !== 'string') return { error: `expected a string, got ${JSON.stringify(v)}` };
      break;
    case 'number':
    case 'integer': {
      if (fromText || typeof v === 'string') v = (v as string).trim() === '' ? NaN : Number(v);
      if (typeof v !== 'number' || !Number.isFinite(v)) return { error: `expected ${p.type === 'integer' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}` };
      if (p.type === 'integer' && !Number.isInteger(v)) return { error: `expected an integer, got ${JSON.stringify(raw)}` };
      break;
    }
    case 'boolean':
      if (typeof v === 'string') {
        const t = v.toLowerCase();
        if (['true', 'yes', '1', 'on'].includes(t)) v = true;
        else if (['false', 'no', '0', 'off'].includes(t)) v = false;
      }
      if (typeof v !== 'boolean') return { error: `expected true or false, got ${JSON.stringify(raw)}` };
      break;
    case 'duration':
      if (typeof v === 'string') {
        const ms = parseDuration(v);
        if (ms === undefined) return { error: `expected a duration like 30s or 5m, got ${JSON.stringify(raw)}` };
        v = ms;
      }
      if (typeof v !== 'number') return { error: `expected a duration, got ${JSON.stringify(raw)}` };
      break;
    case 'list':
      if (typeof v === 'string') {
        const t = v.trim();
        try {
          v = t.startsWith('[') ? JSON.parse(t) : t === '' ? [] : t.split(',').map((x) => x.trim());
        } catch {
          return { error: `expected a list (a,b,c or a JSON array), got ${JSON.stringify(raw)}` };
        }
      }
      if (!Array.isArray(v)) return { error: `expected a list, got ${JSON.stringify(raw)}` };
      {
        // Every element gets the item type, whichever way the list came: `--set ports=1,2` and a
        // default `[1, 2]` must give the same values (`item == 2` holds for both).
        const items = itemTypeOf(p);
        if (items) {
          const list: unknown[] = [];
          for (const [i, el] of (v as unknown[]).entries()) {
            const r = coerceParam({ name: p.name, type: items, required: false }, el, typeof el === 'string' ? 'cli' : source);
            if (r.error) return { error: `item ${i + 1}: ${r.error}` };
            list.push(r.value);
          }
          v = list;
        }
      }
      break;
    case 'object':
      if (typeof v === 'string') {
        try {
          v = JSON.parse(v);
        } catch {
          return { error: `expected a JSON object, got ${JSON.stringify(raw)}` };
        }
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: `expected an object, got ${JSON.stringify(raw)}` };
      break;
  }
  if (p.enum && !p.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
    const hint = typeof v === 'string' ? (closest(v, p.enum.map(String)) ?? abbreviationOf(v, p.enum.map(String))) : undefined;
    return { error: `must be one of ${p.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(v)}${hint ? ` (did you mean '${hint}'?)` : ''}` };
  }
  if (p.pattern && typeof v === 'string' && !new RegExp(p.pattern).test(v)) {
    return { error: `must match /${p.pattern}/, got ${JSON.stringify(v)}` };
  }
  return { value: v };
}

export const ITEM_TYPES = ['string', 'number', 'integer', 'boolean', 'duration'] as const;

/**
 * The type of a list param's elements: `items`, else the one type every element of the default has
 * (so `default: [18081, 18082]` makes `--set ports=1,2` numbers too), else none (elements kept as given).
 */
export function itemTypeOf(p: ParamModel): ParamModel['type'] | undefined {
  if (p.type !== 'list') return undefined;
  if (p.items) return p.items;
  if (!Array.isArray(p.default) || !p.default.length) return undefined;
  const kinds = new Set(p.default.map((e) => (typeof e === 'number' ? (Number.isInteger(e) ? 'integer' : 'number') : typeof e)));
  if (kinds.size === 2 && kinds.has('integer') && kinds.has('number')) return 'number';
  if (kinds.size !== 1) return undefined;
  const [k] = kinds;
  return k === 'integer' || k === 'number' || k === 'boolean' || k === 'string' ? k : undefined;
}

/** Checks each declared default fits its param (at validate time). */
export function checkParamDefaults(model: RunbookModel): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of model.params) {
    if (p.default === undefined) continue;
    if (typeof p.default === 'string' && hasExpressions(p.default)) continue;
    const r = coerceParam(p, p.default, 'default');
    if (r.error) out.push({ code: 'PARAM_DEFAULT', message: `param '${p.name}': the default does not fit type ${p.type}${p.items ? ` of ${p.items}` : ''}: ${r.error}`, ...model.src.pos(['params', p.name, 'default']) });
  }
  for (const p of model.params) {
    if (p.items && p.type !== 'list') out.push({ code: 'PARAM_ITEMS', message: `param '${p.name}': 'items' gives the element type of a list; this param is of type ${p.type}`, ...model.src.pos(['params', p.name, 'items'], { key: true }) });
  }
  return out;
}

/**
 * The params of a run: given values (from --set or a parent runbook) over the defaults. Every
 * problem is reported; unknown names, missing required params, wrong types.
 */
export function resolveParams(
  model: RunbookModel,
  given: Record<string, unknown>,
  source: ParamSource,
  /** How to name where a given value came from (default: `--set <name>` or `param '<name>'`). */
  origin?: (name: string) => string,
): { values: Record<string, unknown>; diagnostics: Diagnostic[] } {
  const values: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  const how = origin ?? ((name: string) => (source === 'cli' ? `--set ${name}` : `param '${name}'`));
  const has = (name: string) => Object.prototype.hasOwnProperty.call(given, name);
  for (const name of Object.keys(given)) {
    if (!model.params.some((p) => p.name === name)) {
      const hint = closest(name, model.params.map((p) => p.name));
      diagnostics.push({
        code: 'PARAM_UNKNOWN',
        message: `${how(name)}: runbook '${model.id}' has no param '${name}'${hint ? ` (did you mean '${hint}'?)` : model.params.length ? ` (params: ${model.params.map((p) => p.name).join(', ')})` : ''}`,
        ...model.src.pos(['params']),
      });
    }
  }
  for (const p of model.params) {
    const at = () => model.src.pos(['params', p.name]);
    if (has(p.name)) {
      const r = coerceParam(p, given[p.name], source);
      if (r.error) diagnostics.push({ code: 'PARAM_TYPE', message: `${how(p.name)}: ${r.error}`, ...at() });
      else values[p.name] = r.value;
    } else if (p.default !== undefined) {
      const r = coerceParam(p, p.default, 'default');
      values[p.name] = r.error ? p.default : r.value;
    } else if (p.required) {
      diagnostics.push({
        code: 'PARAM_REQUIRED',
        message: `missing required param '${p.name}'${source === 'cli' ? ` (pass --set ${p.name}=…)` : ''}${p.description ? `: ${p.description}` : ''}`,
        ...at(),
      });
    } else values[p.name] = null;
  }
  return { values, diagnostics };
}

/** `--set a=1 --set b=x=y` → { a: '1', b: 'x=y' }; malformed entries are usage errors. */
export function parseSets(sets: string[]): { values: Record<string, string>; errors: string[] } {
  // No prototype: `--set __proto__=x` is an own key, reported as an unknown param, not swallowed.
  const values: Record<string, string> = Object.create(null);
  const errors: string[] = [];
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) errors.push(`--set ${s}: expected name=value`);
    else values[s.slice(0, eq).trim()] = s.slice(eq + 1);
  }
  return { values, errors };
}
