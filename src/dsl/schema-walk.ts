/**
 * The subschemas of a JSON Schema (draft 2020-12) node, by the keyword that holds them: only
 * keywords whose values are schemas, so a property that happens to be named `pattern` or `items`
 * is never mistaken for a keyword.
 */
import type { JsonSchema } from './json-schema.js';

export type SubschemaPlace =
  | { kind: 'property'; name: string }
  | { kind: 'def'; name: string }
  /** anyOf / oneOf / allOf elements, `then`, `else`: alternatives or parts of the same value. */
  | { kind: 'branch' }
  | { kind: 'items' }
  | { kind: 'additionalProperties' }
  | { kind: 'propertyNames' }
  /** `not`, `if`, `contains`, `dependentSchemas`, `patternProperties`: they only constrain. */
  | { kind: 'constraint' };

const isSchema = (v: unknown): v is JsonSchema => !!v && typeof v === 'object' && !Array.isArray(v);

export function subschemas(s: JsonSchema): [JsonSchema, SubschemaPlace][] {
  const out: [JsonSchema, SubschemaPlace][] = [];
  const map = (key: string, kind: 'property' | 'def' | 'constraint') => {
    const m = s[key];
    if (!isSchema(m)) return;
    for (const [name, v] of Object.entries(m)) if (isSchema(v)) out.push([v, kind === 'constraint' ? { kind } : { kind, name }]);
  };
  map('properties', 'property');
  map('$defs', 'def');
  map('patternProperties', 'constraint');
  map('dependentSchemas', 'constraint');
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
    const list = s[key];
    if (Array.isArray(list)) for (const v of list) if (isSchema(v)) out.push([v, key === 'prefixItems' ? { kind: 'items' } : { kind: 'branch' }]);
  }
  for (const key of ['then', 'else']) if (isSchema(s[key])) out.push([s[key] as JsonSchema, { kind: 'branch' }]);
  for (const key of ['not', 'if', 'contains']) if (isSchema(s[key])) out.push([s[key] as JsonSchema, { kind: 'constraint' }]);
  if (isSchema(s.items)) out.push([s.items, { kind: 'items' }]);
  if (isSchema(s.additionalProperties)) out.push([s.additionalProperties, { kind: 'additionalProperties' }]);
  if (isSchema(s.propertyNames)) out.push([s.propertyNames, { kind: 'propertyNames' }]);
  return out;
}

/** Every node of the schema, depth first, the root included. */
export function* everySchema(s: JsonSchema): Generator<JsonSchema> {
  yield s;
  for (const [sub] of subschemas(s)) yield* everySchema(sub);
}
