/**
 * Schema validation with ajv (allErrors), translated into messages an operator can act on, each at
 * the YAML position it is about. `oneOf` step bodies are reported as "which body keys are allowed",
 * not as every failed branch.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Diagnostic } from './errors.js';
import type { Path, SourceFile } from './load.js';
import { bodyKeys, runbookSchema } from './schema.js';
import { DURATION_PATTERN } from './duration.js';
import { ID_PATTERN, NAME_PATTERN } from './schema-core.js';
import { closest } from './suggest.js';

let validator: ValidateFunction | undefined;

function compile(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
  validator = ajv.compile(runbookSchema());
  return validator;
}

export function validateSchema(src: SourceFile): Diagnostic[] {
  const validate = compile();
  if (validate(src.data)) return [];
  const errors = validate.errors ?? [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const bodyErrorAt = new Set<string>();

  // Step/rollback objects that fail the one-body rule get one message; errors inside the failed
  // oneOf branches are noise.
  for (const e of errors) {
    if (e.keyword === 'oneOf' && /\/\$defs\/(step|rollback)\/oneOf$/.test(e.schemaPath)) {
      bodyErrorAt.add(e.instancePath);
    }
  }
  for (const e of errors) {
    if (/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath) && /\$defs\/(step|rollback)\/oneOf/.test(e.schemaPath)) continue;
    const d = translate(e, src, bodyErrorAt);
    if (!d) continue;
    const key = `${d.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** "step 'restore': " / "phase 'detect': " / "connection 'db': " — what the path is about. */
export function contextOf(data: unknown, path: Path): string {
  let node: unknown = data;
  let label = '';
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg as string] : undefined;
    const parentKey = path[i - 1];
    const id = node && typeof node === 'object' && !Array.isArray(node) ? (node as { id?: unknown }).id : undefined;
    if (typeof seg === 'number' && typeof id === 'string') {
      if (parentKey === 'phases') label = `phase '${id}'`;
      else if (parentKey === 'steps' || parentKey === 'finally') label = `step '${id}'`;
    } else if (seg === 'rollback' && label.startsWith('step')) label = `${label} rollback`;
    else if (path[i - 1] === 'connections' && typeof seg === 'string') label = `connection '${seg}'`;
    else if (path[i - 1] === 'params' && typeof seg === 'string') label = `param '${seg}'`;
    else if (path[i - 1] === 'secrets' && typeof seg === 'string') label = `secret '${seg}'`;
  }
  return label ? `${label}: ` : '';
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  return `${typeof v} ${String(v)}`;
}

function translate(e: ErrorObject, src: SourceFile, bodyErrorAt: Set<string>): Diagnostic | undefined {
  const path = pointerToPath(e.instancePath);
  const ctx = contextOf(src.data, path);
  const at = (p: Path, key = false) => src.pos(p, { key });
  const field = path.length ? String(path[path.length - 1]) : '';
  const parentSchema = e.parentSchema as { properties?: Record<string, unknown>; $ref?: string } | undefined;

  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys(parentSchema?.properties ?? {});
      const hint = closest(extra, allowed);
      const isBody = bodyErrorAt.has(e.instancePath);
      const suffix = hint ? ` (did you mean '${hint}'?)` : isBody ? ` (step body keys: ${bodyKeys().join(', ')})` : '';
      return { code: 'UNKNOWN_KEY', message: `${ctx}unknown key '${extra}'${suffix}`, ...at([...path, extra], true) };
    }
    case 'oneOf': {
      if (bodyErrorAt.has(e.instancePath)) {
        const obj = (e.data ?? {}) as Record<string, unknown>;
        const present = bodyKeys().filter((k) => k in obj);
        if (present.length > 1) {
          return {
            code: 'STEP_BODY',
            message: `${ctx}has several bodies (${present.join(', ')}): a step has exactly one`,
            ...at([...path, present[1]], true),
          };
        }
        // No known body key: an unknown key (reported separately) may be a misspelt body.
        const unknown = Object.keys(obj).filter((k) => !(k in (parentSchema?.properties ?? {})));
        if (unknown.length) return undefined;
        return {
          code: 'STEP_BODY',
          message: `${ctx}has no body: add exactly one of ${bodyKeys().join(', ')}`,
          ...at(path),
        };
      }
      if (/\$defs\/secret\/oneOf/.test(e.schemaPath)) {
        return { code: 'SCHEMA', message: `${ctx}give exactly one of 'env' or 'file'`, ...at(path) };
      }
      return { code: 'SCHEMA', message: `${ctx}${field ? `'${field}' ` : ''}does not match any allowed form`, ...at(path) };
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      if (/\/(oneOf|anyOf)\/\d+\/required$/.test(e.schemaPath)) return undefined;
      return { code: 'MISSING_KEY', message: `${ctx}missing required key '${missing}'`, ...at(path) };
    }
    case 'type': {
      if (/\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath)) return undefined;
      const expected = String((e.params as { type: string | string[] }).type).replace(',', ' or ');
      return {
        code: 'TYPE',
        message: `${ctx}'${field}' must be ${article(expected)}, got ${describeType(e.data)}`,
        ...at(path),
      };
    }
    case 'anyOf': {
      const s = e.schemaPath;
      const what = /expressions|\/expect|\/assert/.test(s)
        ? 'an expression or a list of expressions'
        : /for_each/.test(s)
          ? 'an expression or a list'
          : 'one of the allowed forms';
      return { code: 'TYPE', message: `${ctx}'${field}' must be ${what}, got ${describeType(e.data)}`, ...at(path) };
    }
    case 'pattern': {
      const pattern = (e.params as { pattern: string }).pattern;
      const value = String(e.data);
      if (pattern === DURATION_PATTERN) {
        return { code: 'DURATION', message: `${ctx}'${field}': invalid duration '${value}' (use e.g. 250ms, 30s, 5m, 1h30m)`, ...at(path) };
      }
      if (pattern === ID_PATTERN) {
        return {
          code: 'BAD_ID',
          message: `${ctx}invalid id '${value}' (lowercase letters, digits and _, words joined by '-', starting with a letter)`,
          ...at(path),
        };
      }
      if (pattern === NAME_PATTERN) {
        return { code: 'BAD_NAME', message: `${ctx}invalid name '${value}' (letters, digits, _ and '-' between them)`, ...at(path) };
      }
      return { code: 'SCHEMA', message: `${ctx}'${field}' must match ${pattern}`, ...at(path) };
    }
    case 'propertyNames':
      return undefined; // reported by the nested pattern error
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues;
      const hint = typeof e.data === 'string' ? closest(e.data, allowed.map(String)) : undefined;
      return {
        code: 'ENUM',
        message: `${ctx}'${field}' must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describeType(e.data)}${hint ? ` (did you mean '${hint}'?)` : ''}`,
        ...at(path),
      };
    }
    case 'const':
      return { code: 'SCHEMA', message: `${ctx}'${field}' must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`, ...at(path) };
    case 'if':
    case 'not':
      return undefined;
    case 'minItems':
      return { code: 'SCHEMA', message: `${ctx}'${field}' must not be empty`, ...at(path) };
    case 'maxProperties':
    case 'minProperties': {
      if (/\$defs\/connection/.test(e.schemaPath)) {
        return { code: 'SCHEMA', message: `${ctx}a connection has exactly one kind: ${Object.keys(parentSchema?.properties ?? {}).join(', ')}`, ...at(path) };
      }
      return { code: 'SCHEMA', message: `${ctx}${e.message ?? 'invalid'}`, ...at(path) };
    }
    default:
      return { code: 'SCHEMA', message: `${ctx}'${field || 'document'}' ${e.message ?? 'is invalid'}`, ...at(path) };
  }
}

function article(t: string): string {
  if (t === 'object') return 'a map';
  if (t === 'array') return 'a list';
  if (t === 'integer') return 'an integer';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
