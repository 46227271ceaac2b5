/**
 * One ajv error, translated: the message an operator can act on (unknown key with its did-you-mean,
 * the missing key and the action that needs it, the wrong type and what was given), at the YAML
 * position it is about.
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { Diagnostic } from './errors.js';
import type { Path, SourceFile } from './load.js';
import type { JsonSchema } from './json-schema.js';
import { bodyKeys, runbookSchema } from './schema.js';
import { DURATION_PATTERN } from './duration.js';
import { ID_PATTERN, NAME_PATTERN } from './schema-core.js';
import { PATTERN_WORDS, patternErrorMessage } from './pattern-words.js';
import { closest } from './suggest.js';
import { article, contextOf, describeType, fieldName, keysOf, orList, pointerToPath } from './schema-words.js';

export const missingOf = (e: ErrorObject) => String((e.params as { missingProperty?: string }).missingProperty);

export function translate(e: ErrorObject, src: SourceFile, bodyChoiceAt: Set<string>): Diagnostic | undefined {
  const path = pointerToPath(e.instancePath);
  const ctx = contextOf(src.data, path);
  const at = (p: Path, key = false) => src.pos(p, { key });
  const field = fieldName(path);
  const parentSchema = e.parentSchema as JsonSchema | undefined;
  const defs = runbookSchema().$defs as Record<string, JsonSchema>;
  const isMap = e.data !== null && typeof e.data === 'object' && !Array.isArray(e.data);
  const data = (isMap ? e.data : {}) as Record<string, unknown>;
  const action = typeof data.action === 'string' && /\/then\//.test(e.schemaPath) ? data.action : undefined;

  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const allowed = Object.keys((parentSchema?.properties as object | undefined) ?? {});
      const hint = closest(extra, allowed);
      const isStep = bodyChoiceAt.has(e.instancePath) || parentSchema === defs.step || parentSchema === defs.rollback;
      const suffix = hint
        ? ` (did you mean '${hint}'?)`
        : isStep
          ? ` (a step has one body — ${bodyKeys().join(', ')} — and the common fields)`
          : allowed.length
            ? ` (allowed: ${allowed.join(', ')})`
            : '';
      return { code: 'UNKNOWN_KEY', message: `${ctx}unknown key '${extra}'${suffix}`, ...at([...path, extra], true) };
    }
    case 'oneOf': {
      // The one-body rule of a step or rollback (a step that is not a map has its type error).
      if (!isMap) return undefined;
      const present = bodyKeys().filter((k) => k in data);
      if (present.length > 1) {
        return {
          code: 'STEP_BODY',
          message: `${ctx}has several bodies (${present.join(', ')}): a ${path[path.length - 1] === 'rollback' ? 'rollback' : 'step'} has exactly one`,
          ...at([...path, present[1]], true),
        };
      }
      // A misspelt body key (`shel:`) is reported as an unknown key with its did-you-mean.
      const known = Object.keys((parentSchema?.properties as object | undefined) ?? {});
      const misspelt = Object.keys(data).some((k) => !known.includes(k) && closest(k, bodyKeys()) !== undefined);
      if (misspelt) return undefined;
      return { code: 'STEP_BODY', message: `${ctx}has no body: add exactly one of ${bodyKeys().join(', ')}`, ...at(path) };
    }
    case 'required': {
      const missing = missingOf(e);
      const why = action ? ` (action '${action}' needs it)` : '';
      return { code: 'MISSING_KEY', message: `${ctx}missing required key '${missing}'${why}`, ...at(path) };
    }
    case 'not': {
      const forbidden = keysOf(e.schema).filter((k) => k in data);
      if (!forbidden.length) return { code: 'SCHEMA', message: `${ctx}'${field}' is not allowed in this form`, ...at(path) };
      const list = forbidden.map((k) => `'${k}'`);
      if (action) {
        return { code: 'SCHEMA', message: `${ctx}${orList(list).replace(' or ', ' and ')} cannot be used with action '${action}'`, ...at([...path, forbidden[0]], true) };
      }
      if (forbidden.length > 1) {
        return { code: 'SCHEMA', message: `${ctx}give only one of ${orList(list)}, not both`, ...at([...path, forbidden[1]], true) };
      }
      // Inside a one-of-keys alternative: forbidden next to the key that chose the branch.
      const chosen = Object.keys(data).find((k) => k !== forbidden[0] && keysOf(parentSchema).includes(k));
      return { code: 'SCHEMA', message: `${ctx}'${forbidden[0]}' cannot be used${chosen ? ` with '${chosen}'` : ' here'}`, ...at([...path, forbidden[0]], true) };
    }
    case 'type': {
      const expected = String((e.params as { type: string | string[] }).type).split(',');
      const expression = typeof e.data === 'string' && e.data.includes('${{')
        ? ' (this field is fixed when the runbook is loaded: ${{ }} is allowed only inside step bodies, connections, conditions and outputs)'
        : '';
      return {
        code: 'TYPE',
        message: `${ctx}'${field || 'document'}' must be ${orList(expected.map(article))}, got ${describeType(e.data)}${expression}`,
        ...at(path),
      };
    }
    case 'pattern': {
      const pattern = (e.params as { pattern: string }).pattern;
      const value = String(e.data);
      const words = PATTERN_WORDS[pattern];
      if (pattern === DURATION_PATTERN) {
        return { code: 'DURATION', message: `${ctx}'${field}': invalid duration '${value}' (${words.hint})`, ...at(path) };
      }
      if (pattern === ID_PATTERN) {
        return { code: 'BAD_ID', message: `${ctx}invalid id '${value}' (${words.hint})`, ...at(path) };
      }
      if (pattern === '^[0-9]+$') {
        return { code: 'TYPE', message: `${ctx}'${field}' must be ${words.noun}, got ${describeType(e.data)}`, ...at(path) };
      }
      if (pattern === NAME_PATTERN) {
        return { code: 'BAD_NAME', message: `${ctx}invalid name '${value}' (${words.hint})`, ...at(path) };
      }
      // Any other pattern is said in the words the editor shows for it (its errorMessage), never as the regex.
      const own = typeof parentSchema?.errorMessage === 'string' ? parentSchema.errorMessage : undefined;
      const said = (own ?? patternErrorMessage(pattern, parentSchema?.description as string | undefined)).replace(/\.$/, '');
      return { code: 'SCHEMA', message: `${ctx}'${field}': ${said.charAt(0).toLowerCase()}${said.slice(1)}, got ${describeType(e.data)}`, ...at(path) };
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
      return undefined; // the failed `then` says what is wrong
    case 'minItems':
      return { code: 'SCHEMA', message: `${ctx}'${field}' must not be empty`, ...at(path) };
    case 'minLength':
      return { code: 'SCHEMA', message: `${ctx}'${field}' must not be empty`, ...at(path) };
    case 'uniqueItems': {
      const { i } = e.params as { i: number; j: number };
      const dup = Array.isArray(e.data) ? e.data[i] : undefined;
      return { code: 'SCHEMA', message: `${ctx}'${field}' lists ${describeType(dup)} twice`, ...at([...path, i]) };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { code: 'SCHEMA', message: `${ctx}'${field}' ${e.message ?? 'is out of range'}, got ${describeType(e.data)}`, ...at(path) };
    case 'maxProperties':
    case 'minProperties': {
      if (parentSchema === defs.connection) {
        const kinds = Object.keys((parentSchema.properties as object | undefined) ?? {});
        const given = Object.keys(data);
        return {
          code: 'CONNECTION_KINDS',
          message: given.length
            ? `${ctx}a connection has exactly one kind, got ${given.map((k) => `'${k}'`).join(' and ')}`
            : `${ctx}a connection needs its kind: one of ${kinds.join(', ')}`,
          ...(given.length > 1 ? at([...path, given[1]], true) : at(path)),
        };
      }
      return { code: 'SCHEMA', message: `${ctx}'${field || 'document'}' ${e.message ?? 'is invalid'}`, ...at(path) };
    }
    default:
      return { code: 'SCHEMA', message: `${ctx}'${field || 'document'}' ${e.message ?? 'is invalid'}`, ...at(path) };
  }
}
