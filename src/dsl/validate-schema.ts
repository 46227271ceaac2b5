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
import type { SourceFile } from './load.js';
import type { JsonSchema } from './json-schema.js';
import { bodyKeys, runbookSchema } from './schema.js';
import { closest } from './suggest.js';
import { contextOf, describeSchema, describeType, fieldName, orList, pointerToPath } from './schema-words.js';
import { missingOf, translate } from './translate-schema-error.js';

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
