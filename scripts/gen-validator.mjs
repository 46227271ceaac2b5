import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

/**
 * Standalone (precompiled) validators of the runbook schema, as TypeScript source: `validate`
 * answers "valid?" for every file at no compile cost (only an invalid file pays for compiling the
 * full validator whose errors are translated into messages), and `body_<type>` checks a step body
 * after its ${{ }} are resolved, without compiling anything while a run is under way.
 */
export function generateValidator(schema) {
  const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true, code: { source: true, esm: true, lines: false } });
  const bodyKeys = schema.$defs.step.oneOf.map((branch) => branch.required[0]);
  const { root, bodies } = sharedBodies(oneBodyWithoutErrors(schema), bodyKeys);
  ajv.addSchema(root);
  for (const body of bodies.values()) ajv.addSchema(body);
  // `validate` for whole documents; `body_<type>` for a step body once its ${{ }} are resolved.
  const exports = { validate: schema.$id };
  for (const key of bodyKeys) {
    exports[`body_${key}`] = bodies.get(key)?.$id ?? `${schema.$id}#/$defs/step/properties/${key}`;
  }
  let code = standaloneCode.default ? standaloneCode.default(ajv, exports) : standaloneCode(ajv, exports);
  // The ESM output still require()s ajv's runtime helpers: turn them into imports.
  const imports = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)(\.default)?/g, (_, mod, dflt) => {
    const name = `runtime${imports.length}`;
    imports.push(`import ${name} from '${mod}.js';`);
    return dflt ? `(${name}.default ?? ${name})` : name;
  });
  return [
    '// @ts-nocheck',
    '/* Generated from the runbook schema (src/dsl/schema.ts) by `npm run gen` (scripts/gen-validator.mjs) — do not edit. */',
    ...imports,
    code,
    '',
  ].join('\n');
}

/**
 * The same verdicts with each body schema compiled once. A step and a rollback hold the same body
 * schemas inline, and ajv writes code for every place a schema appears: the step's check, the
 * rollback's and each exported `body_<type>` held its own copy of the six bodies (2.9 MB of bundle
 * and 1.38 MB of code cache for `validate`, against 2.4 and 1.13 now). Each body becomes a schema of its
 * own (its references made absolute), which the step, the rollback and the export refer to.
 */
function sharedBodies(schema, bodyKeys) {
  const { step, rollback } = schema.$defs;
  const bodies = new Map();
  for (const key of bodyKeys) {
    const body = step.properties[key];
    if (body.$ref || JSON.stringify(body) !== JSON.stringify(rollback.properties[key])) continue;
    const $id = new URL(`body-${key}.json`, schema.$id).href;
    bodies.set(key, { $id, ...absoluteRefs(body, schema.$id) });
    step.properties[key] = { $ref: $id };
    rollback.properties[key] = { $ref: $id };
  }
  return { root: schema, bodies };
}

/** `schema` with each `$ref: "#…"` in it resolved against `base` (made absolute), so that it can live under another `$id`. */
function absoluteRefs(schema, base) {
  if (Array.isArray(schema)) return schema.map((s) => absoluteRefs(s, base));
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${base}${v}` : absoluteRefs(v, base)]));
}

/**
 * The same verdicts with a cheaper one-body rule. The schema says "exactly one body key" as a `oneOf`
 * of `required: [<key>]` branches, and for every valid step ajv then builds (and drops) an error
 * object for each branch that fails: 11 per step and per rollback (about 5 ms of validating a
 * 1,000-step file, most of it garbage collection). Here "at least one" is a `not` of "every body key
 * absent" (ajv makes no errors under `not`), and "at most one" is, for each body key, that the others
 * are absent. Only the precompiled validator, which answers valid or not, uses this form; the errors
 * an operator reads come from the schema as written. test/dsl/editor-schema.test.ts compares the verdicts.
 */
function oneBodyWithoutErrors(schema) {
  const out = structuredClone(schema);
  for (const name of ['step', 'rollback']) {
    const def = out.$defs[name];
    const keys = def.oneOf.map((branch) => branch.required[0]);
    const absent = (ks) => ({ properties: Object.fromEntries(ks.map((k) => [k, false])) });
    delete def.oneOf;
    def.not = absent(keys);
    def.dependentSchemas = Object.fromEntries(keys.map((k) => [k, absent(keys.filter((o) => o !== k))]));
  }
  return out;
}
