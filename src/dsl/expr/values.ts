/** A value not known yet (a step that has not run, in `plan` and dry runs). */
export const UNKNOWN: unique symbol = Symbol('runbook.unknown');

export type ValueType = 'null' | 'boolean' | 'number' | 'string' | 'list' | 'object' | 'unknown';

/** The expression-language name of a value's type, for error messages. */
export function typeName(v: unknown): ValueType {
  if (v === UNKNOWN) return 'unknown';
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
    case 'bigint':
      return 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when UNKNOWN sits anywhere inside the value. */
export function containsUnknown(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === UNKNOWN) return true;
  if (typeof v !== 'object' || v === null || seen.has(v)) return false;
  seen.add(v);
  const items = Array.isArray(v) ? v : Object.values(v);
  return items.some((x) => containsUnknown(x, seen));
}

/** Deep structural equality with no coercion; UNKNOWN when an unknown part decides it. */
export function deepEqual(a: unknown, b: unknown): boolean | typeof UNKNOWN {
  if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
  a ??= null;
  b ??= null;
  if (a === b) return true;
  const ta = typeName(a);
  if (ta !== typeName(b)) return false;
  if (ta === 'list') {
    const la = a as unknown[];
    const lb = b as unknown[];
    if (la.length !== lb.length) return false;
    return allEqual(la.map((x, i) => [x, lb[i]]));
  }
  if (ta === 'object') {
    const oa = a as Record<string, unknown>;
    const ob = b as Record<string, unknown>;
    const ka = Object.keys(oa);
    if (ka.length !== Object.keys(ob).length || !ka.every((k) => Object.hasOwn(ob, k))) return false;
    return allEqual(ka.map((k) => [oa[k], ob[k]]));
  }
  return false;
}

// A definite difference wins over an unknown part: [1, ?] != [2, ?] is known to be false.
function allEqual(pairs: unknown[][]): boolean | typeof UNKNOWN {
  let unknown = false;
  for (const [x, y] of pairs) {
    const eq = deepEqual(x, y);
    if (eq === false) return false;
    if (eq === UNKNOWN) unknown = true;
  }
  return unknown ? UNKNOWN : true;
}

/** JSON text of a value; an UNKNOWN inside is written as `"<unknown>"`. */
export function toJson(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) => (x === UNKNOWN ? '<unknown>' : x)) ?? 'null';
}

/** Text of a value as interpolated into a string: strings as-is, null → '', lists/objects → JSON. */
export function stringifyValue(v: unknown): string {
  if (v === UNKNOWN) return '<unknown>';
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return toJson(v);
}
