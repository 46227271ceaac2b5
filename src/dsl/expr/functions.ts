import type { Expr } from './ast.js';
import { errorAt, ExprError } from './errors.js';
import { containsUnknown, deepEqual, isObject, stringifyValue, toJson, typeName, UNKNOWN } from './values.js';
import { formatDuration, parseDuration } from '../duration.js';
import { closest } from '../suggest.js';

type CallExpr = Extract<Expr, { kind: 'call' }>;

interface FunctionSpec {
  min: number;
  max: number;
  /** Called with evaluated arguments, none of them UNKNOWN at the top level. */
  run(args: unknown[], call: CallExpr): unknown;
}

// Null in the first argument means "absent": predicates say false, length says 0, transforms
// pass the null on (so `default(lower(x), '')` works). Other wrong types are EXPR_TYPE errors.
const SPECS: Record<string, FunctionSpec> = {
  contains: { min: 2, max: 2, run: ([h, n], c) => contains(h, n, c) },
  startsWith: { min: 2, max: 2, run: ([s, p], c) => s != null && str(s, c, 0).startsWith(str(p, c, 1)) },
  endsWith: { min: 2, max: 2, run: ([s, p], c) => s != null && str(s, c, 0).endsWith(str(p, c, 1)) },
  matches: { min: 2, max: 2, run: ([s, re], c) => s != null && regex(str(re, c, 1), c).test(str(s, c, 0)) },
  length: { min: 1, max: 1, run: ([x], c) => length(x, c) },
  lower: { min: 1, max: 1, run: ([s], c) => (s == null ? null : str(s, c, 0).toLowerCase()) },
  upper: { min: 1, max: 1, run: ([s], c) => (s == null ? null : str(s, c, 0).toUpperCase()) },
  trim: { min: 1, max: 1, run: ([s], c) => (s == null ? null : str(s, c, 0).trim()) },
  split: { min: 2, max: 2, run: ([s, sep], c) => (s == null ? null : str(s, c, 0).split(str(sep, c, 1))) },
  join: { min: 1, max: 2, run: ([l, sep], c) => join(l, sep === undefined ? ',' : str(sep, c, 1), c) },
  keys: { min: 1, max: 1, run: ([o], c) => (o == null ? null : Object.keys(obj(o, c, 0))) },
  first: { min: 1, max: 1, run: ([l], c) => (l == null ? null : (list(l, c, 0)[0] ?? null)) },
  last: { min: 1, max: 1, run: ([l], c) => (l == null ? null : (list(l, c, 0).at(-1) ?? null)) },
  // Evaluated lazily by the evaluator; this entry only declares the arity.
  default: { min: 2, max: 2, run: ([x, fallback]) => x ?? fallback },
  toJSON: { min: 1, max: 1, run: ([x]) => (containsUnknown(x) ? UNKNOWN : toJson(x)) },
  fromJSON: { min: 1, max: 1, run: ([s], c) => (s == null ? null : fromJson(str(s, c, 0), c)) },
  duration: { min: 1, max: 1, run: ([d], c) => toDuration(d, c) },
  format_duration: { min: 1, max: 1, run: ([ms], c) => (ms == null ? null : formatDuration(num(ms, c, 0))) },
  now: { min: 0, max: 0, run: () => Date.now() },
};

/** The built-in function names (spec §3). */
export const FUNCTIONS: readonly string[] = Object.freeze(Object.keys(SPECS));

/** Parse-time check: the function exists and gets an allowed number of arguments. */
export function checkCall(call: CallExpr, nameLength: number): void {
  const spec = Object.hasOwn(SPECS, call.name) ? SPECS[call.name] : undefined;
  if (!spec) {
    const hint = suggest(call.name);
    const message = `unknown function '${call.name}'${hint ? ` (did you mean '${hint}'?)` : ''}`;
    throw new ExprError('EXPR_FUNCTION', message, call.start, nameLength);
  }
  const n = call.args.length;
  if (n < spec.min || n > spec.max) {
    const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} or ${spec.max}`;
    const plural = spec.max === 1 && spec.min === 1 ? 'argument' : 'arguments';
    throw errorAt('EXPR_FUNCTION', `${call.name}() takes ${want} ${plural}, got ${n}`, call);
  }
}

/** Runs a built-in with evaluated arguments. */
export function callFunction(call: CallExpr, args: unknown[]): unknown {
  return SPECS[call.name].run(args, call);
}

function argError(c: CallExpr, i: number, want: string, got: unknown): ExprError {
  return errorAt('EXPR_TYPE', `${c.name}() expects ${want} as argument ${i + 1}, got ${typeName(got)}`, c.args[i]);
}

function str(v: unknown, c: CallExpr, i: number): string {
  if (typeof v !== 'string') throw argError(c, i, 'a string', v);
  return v;
}
function num(v: unknown, c: CallExpr, i: number): number {
  if (typeof v !== 'number') throw argError(c, i, 'a number', v);
  return v;
}
function list(v: unknown, c: CallExpr, i: number): unknown[] {
  if (!Array.isArray(v)) throw argError(c, i, 'a list', v);
  return v;
}
function obj(v: unknown, c: CallExpr, i: number): Record<string, unknown> {
  if (!isObject(v)) throw argError(c, i, 'an object', v);
  return v;
}

/** Membership without coercion: element of a list, substring of a string, key of an object. */
export function contains(haystack: unknown, needle: unknown, c?: CallExpr): boolean | typeof UNKNOWN {
  if (haystack == null) return false;
  if (Array.isArray(haystack)) {
    let unknown = false;
    for (const x of haystack) {
      const eq = deepEqual(x, needle);
      if (eq === true) return true;
      if (eq === UNKNOWN) unknown = true;
    }
    return unknown ? UNKNOWN : false;
  }
  if (typeof haystack === 'string') {
    if (typeof needle !== 'string') throw membershipError(`a string can only contain a string, got ${typeName(needle)}`, c, 1);
    return haystack.includes(needle);
  }
  if (isObject(haystack)) {
    if (typeof needle !== 'string') throw membershipError(`object keys are strings, got ${typeName(needle)}`, c, 1);
    return Object.hasOwn(haystack, needle);
  }
  throw membershipError(`cannot look inside a ${typeName(haystack)}`, c, 0);
}

// Inside contains() the error points at the argument; for `in` the evaluator re-points it.
function membershipError(message: string, c: CallExpr | undefined, i: number): ExprError {
  return c ? errorAt('EXPR_TYPE', `${c.name}(): ${message}`, c.args[i]) : new ExprError('EXPR_TYPE', message, -1);
}

function length(x: unknown, c: CallExpr): number {
  if (x == null) return 0;
  if (typeof x === 'string' || Array.isArray(x)) return x.length;
  if (isObject(x)) return Object.keys(x).length;
  throw argError(c, 0, 'a string, list or object', x);
}

function join(l: unknown, sep: string, c: CallExpr): unknown {
  if (l == null) return null;
  const items = list(l, c, 0);
  if (items.some((x) => containsUnknown(x))) return UNKNOWN;
  return items.map(stringifyValue).join(sep);
}

const regexCache = new Map<string, RegExp>();
function regex(source: string, c: CallExpr): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    try {
      re = new RegExp(source);
    } catch (e) {
      throw errorAt('EXPR_EVAL', `matches(): invalid regular expression: ${(e as Error).message}`, c.args[1]);
    }
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

function fromJson(s: string, c: CallExpr): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw errorAt('EXPR_EVAL', `fromJSON(): invalid JSON: ${(e as Error).message}`, c.args[0]);
  }
}

function toDuration(d: unknown, c: CallExpr): number | null {
  if (d == null) return null;
  if (typeof d === 'number') return d;
  const ms = parseDuration(str(d, c, 0));
  if (ms === undefined) throw errorAt('EXPR_EVAL', `duration(): invalid duration '${d}' (e.g. 250ms, 30s, 5m, 1h30m)`, c.args[0]);
  return ms;
}

/** The closest known name, for "did you mean …?" (function names are short: allow two edits). */
export function suggest(name: string, candidates: readonly string[] = FUNCTIONS): string | undefined {
  return closest(name, candidates, Math.max(2, Math.floor(name.length / 3)));
}
