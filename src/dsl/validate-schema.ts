/**
 * Schema validation with ajv (allErrors), translated into messages an operator can act on, each at
 * the YAML position it is about. ajv reports every failed branch of an `anyOf`/`oneOf`; we replace
 * them with one message: the branch the value was meant for when one matches its type (so `700` for
 * `expect_status` says "must be <= 599"), else "must be A, B or C". Step bodies get "which body
 * keys are allowed".
 */
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { validate as precompiled } from './schema-check.generated.js';
import type { Diagnostic } from './errors.js';
import type { Path, SourceFile } from './load.js';
import type { JsonSchema } from './json-schema.js';
import { bodyKeys, runbookSchema } from './schema.js';
import { DURATION_PATTERN } from './duration.js';
import { ID_PATTERN, NAME_PATTERN } from './schema-core.js';
import { closest } from './suggest.js';

let ajv: Ajv2020 | undefined;
let validator: ValidateFunction | undefined;
const branchValidators = new WeakMap<object, ValidateFunction>();

function compile(): ValidateFunction {
  if (validator) return validator;
  // Loaded only here, on the error path: a valid file never pays for ajv's compiler.
  const { Ajv2020: Ajv } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
  validator = ajv.compile(runbookSchema());
  return validator;
}

/** One branch of an anyOf/oneOf on its own, with the document's $defs so its `$ref`s resolve. */
function branchValidator(branch: JsonSchema): ValidateFunction {
  let v = branchValidators.get(branch);
  if (!v) {
    v = ajv!.compile({ ...branch, $defs: runbookSchema().$defs });
    branchValidators.set(branch, v);
  }
  return v;
}

export function validateSchema(src: SourceFile): Diagnostic[] {
  // The precompiled validator answers for a valid file; compiling the full one (~150 ms) is paid
  // only when there are errors to translate.
  if (precompiled(src.data)) return [];
  const validate = compile();
  if (validate(src.data)) return [];
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const d of translateAll(validate.errors ?? [], src)) {
    const key = `${d.offset}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

const errorKey = (e: ErrorObject) => `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
const isAlternative = (e: ErrorObject) => e.keyword === 'anyOf' || e.keyword === 'oneOf';

function isBodyChoice(e: ErrorObject): boolean {
  const defs = runbookSchema().$defs as Record<string, JsonSchema>;
  return e.keyword === 'oneOf' && (e.parentSchema === defs.step || e.parentSchema === defs.rollback);
}

/** The errors of validating `data` (found at `base`) against one branch, with absolute paths. */
function branchErrors(branch: JsonSchema, data: unknown, base: string): ErrorObject[] {
  const v = branchValidator(branch);
  if (v(data)) return [];
  return (v.errors ?? []).map((e) => ({ ...e, instancePath: base + e.instancePath }));
}

function translateAll(errors: ErrorObject[], src: SourceFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const consumed = new Set<string>();
  const bodyChoiceAt = new Set(errors.filter(isBodyChoice).map((e) => e.instancePath));

  // Alternatives first, outermost first, so an inner anyOf inside a failed outer branch is
  // consumed with it rather than reported on its own.
  const alternatives = errors
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => isAlternative(e) && !isBodyChoice(e))
    .sort((a, b) => a.e.instancePath.split('/').length - b.e.instancePath.split('/').length || b.i - a.i);
  for (const { e } of alternatives) {
    if (consumed.has(errorKey(e))) continue;
    const branches = (e.schema as JsonSchema[]).map((b) => branchErrors(b, e.data, e.instancePath));
    for (const list of branches) for (const b of list) consumed.add(errorKey(b));
    out.push(...translateAlternative(e, branches, src));
  }

  for (const e of errors) {
    if (isAlternative(e) && !isBodyChoice(e)) continue;
    if (consumed.has(errorKey(e))) continue;
    // The failed `required: [<body key>]` branches of the one-body rule.
    if (e.keyword === 'required' && bodyChoiceAt.has(e.instancePath) && bodyKeys().includes(missingOf(e))) continue;
    if (e.keyword === 'required' && isMisspeltHere(errors, e)) continue;
    const d = translate(e, src, bodyChoiceAt);
    if (d) out.push(d);
  }
  return out;
}

/** `pahses:` is reported as an unknown key with "did you mean 'phases'?": the missing `phases` is the same mistake. */
function isMisspeltHere(errors: ErrorObject[], required: ErrorObject): boolean {
  const missing = missingOf(required);
  return errors.some(
    (e) =>
      e.keyword === 'additionalProperties' &&
      e.instancePath === required.instancePath &&
      closest(String((e.params as { additionalProperty: string }).additionalProperty), Object.keys(((e.parentSchema as JsonSchema | undefined)?.properties as object | undefined) ?? {})) === missing,
  );
}

const missingOf = (e: ErrorObject) => String((e.params as { missingProperty?: string }).missingProperty);

/** Keywords that mean "this value is not of this branch's kind at all". */
const SHALLOW = new Set(['type', 'const', 'enum']);

function translateAlternative(e: ErrorObject, branches: ErrorObject[][], src: SourceFile): Diagnostic[] {
  const path = pointerToPath(e.instancePath);
  const ctx = contextOf(src.data, path);
  const schemas = e.schema as JsonSchema[];
  const data = e.data;
  const field = fieldName(path);

  // Alternatives that each require one key (shell run|command, sql query|script, secret env|file,
  // docker container|service): say which keys, and which one is missing or extra.
  const keys = schemas.map((s) => (Array.isArray(s.required) && s.required.length === 1 ? String(s.required[0]) : undefined));
  if (keys.every((k) => k !== undefined) && data && typeof data === 'object' && !Array.isArray(data)) {
    const present = keys.filter((k) => k! in data) as string[];
    const names = orList(keys.map((k) => `'${k}'`));
    // `secret 's': ` already names the map; a body (`'shell' needs …`) is named by its key.
    const named = ['secrets', 'connections', 'params'].includes(String(path[path.length - 2]));
    const what = field && typeof path[path.length - 1] === 'string' && !named ? `'${field}' ` : '';
    if (present.length === 0) {
      const action = /\/then\//.test(e.schemaPath) && typeof (data as { action?: unknown }).action === 'string' ? (data as { action: string }).action : undefined;
      return [{ code: 'MISSING_KEY', message: `${ctx}${what}needs one of ${names}${action ? ` for action '${action}'` : ''}`, ...src.pos(path) }];
    }
    if (present.length > 1) {
      return [{ code: 'SCHEMA', message: `${ctx}${what}takes only one of ${names}, not ${present.map((k) => `'${k}'`).join(' and ')}`, ...src.pos([...path, present[1]], { key: true }) }];
    }
    const chosen = keys.indexOf(present[0]);
    return translateAll(branches[chosen], src);
  }

  // The branch the value was meant for: the first whose type it has (shallow errors aside).
  const isExpressionBranch = (s: JsonSchema) => s.$ref === '#/$defs/expression_string';
  const deep = branches.findIndex(
    (errs, i) => !isExpressionBranch(schemas[i]) && errs.length > 0 && !errs.some((b) => b.instancePath === e.instancePath && SHALLOW.has(b.keyword)),
  );
  if (deep >= 0) return translateAll(branches[deep], src);

  const forms = orList(uniq(schemas.map(describeSchema)));
  return [{ code: 'TYPE', message: `${ctx}'${field || 'document'}' must be ${forms}, got ${describeType(data)}`, ...src.pos(path) }];
}

const uniq = <T>(xs: T[]) => [...new Set(xs)];

function orList(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** "an integer", "a list of expressions", "a ${{ }} expression", … */
function describeSchema(s: JsonSchema): string {
  const ref = typeof s.$ref === 'string' ? s.$ref.replace('#/$defs/', '') : undefined;
  if (ref === 'expression_string') return 'a ${{ }} expression';
  if (ref === 'expression') return 'an expression';
  if (ref === 'expressions') return 'an expression or a list of expressions';
  if (ref === 'duration') return 'a duration (e.g. 30s, 5m)';
  if (ref) return `a ${ref.replace(/_/g, ' ')}`;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return orList(((s.anyOf ?? s.oneOf) as JsonSchema[]).map(describeSchema));
  if (s.pattern === DURATION_PATTERN) return 'a duration (e.g. 30s, 5m)';
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (!types.length) return 'a value of another form';
  return orList(
    types.map((t) => {
      if (t === 'array' && s.items && typeof s.items === 'object') {
        // `[200, "${{ x }}"]` is allowed too, but "a list of integers" is what to say.
        const items = s.items as JsonSchema;
        const alts = Array.isArray(items.anyOf) ? (items.anyOf as JsonSchema[]).filter((b) => b.$ref !== '#/$defs/expression_string') : undefined;
        const item = alts?.length === 1 ? describeSchema(alts[0]) : describeSchema(items);
        return item.startsWith('a ') || item.startsWith('an ') ? `a list of ${plural(item)}` : 'a list';
      }
      return article(t);
    }),
  );
}

function plural(itemPhrase: string): string {
  const bare = itemPhrase.replace(/^an? /, '');
  if (bare === '${{ }} expression') return '${{ }} expressions';
  return bare.replace(/^(\w+)/, (w) => (w.endsWith('s') ? w : `${w}s`));
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

/** `tail`, `command[0]`, `expect_status[1]`: the field a path ends at. */
function fieldName(path: Path): string {
  let i = path.length - 1;
  let index = '';
  while (i >= 0 && typeof path[i] === 'number') index = `[${path[i]}]` + index, i--;
  return i >= 0 ? `${path[i]}${index}` : index;
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
    if (typeof seg === 'number' && (parentKey === 'phases' || parentKey === 'steps' || parentKey === 'finally')) {
      const what = parentKey === 'phases' ? 'phase' : 'step';
      label = typeof id === 'string' ? `${what} '${id}'` : `${what} ${seg + 1}${label ? ` of ${label}` : ''}`;
    } else if (seg === 'rollback' && label.startsWith('step')) label = `${label} rollback`;
    else if (parentKey === 'connections' && typeof seg === 'string' && i === 1) label = `connection '${seg}'`;
    else if (parentKey === 'params' && typeof seg === 'string' && i === 1) label = `param '${seg}'`;
    else if (parentKey === 'secrets' && typeof seg === 'string' && i === 1) label = `secret '${seg}'`;
  }
  return label ? `${label}: ` : '';
}

function describeType(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  return `${typeof v} ${String(v)}`;
}

function keysOf(s: unknown): string[] {
  const sch = s as JsonSchema | undefined;
  if (!sch) return [];
  if (Array.isArray(sch.required)) return sch.required.map(String);
  const alts = (sch.anyOf ?? sch.oneOf) as JsonSchema[] | undefined;
  return Array.isArray(alts) ? alts.flatMap(keysOf) : [];
}

function translate(e: ErrorObject, src: SourceFile, bodyChoiceAt: Set<string>): Diagnostic | undefined {
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
      if (pattern === '^[0-9]+$') {
        return { code: 'TYPE', message: `${ctx}'${field}' must be a whole number, got ${describeType(e.data)}`, ...at(path) };
      }
      if (pattern === NAME_PATTERN) {
        return { code: 'BAD_NAME', message: `${ctx}invalid name '${value}' (letters, digits, _ and '-' between them)`, ...at(path) };
      }
      return { code: 'SCHEMA', message: `${ctx}'${field}' must match ${pattern}, got ${describeType(e.data)}`, ...at(path) };
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

function article(t: string): string {
  if (t === 'object') return 'a map';
  if (t === 'array') return 'a list';
  if (t === 'integer') return 'an integer';
  if (t === 'null') return 'null';
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}
