/**
 * "Exactly one of these keys" rewritten as one branch per key, for editors. The validator's schema
 * says it as `properties: {every key} + oneOf: [{required: [k]} …]` (ajv then reports one clear
 * error: the STEP_BODY rule); an editor reading that form offers every body key even once a step has
 * one. As `oneOf: [{properties: {common…, k}, required: [k]} …]` yaml-language-server matches the
 * branch of the key already written and offers only its fields. Both forms accept exactly the same
 * documents (test/dsl/schema-editor.test.ts checks it on every runbook of the repository).
 */
import type { JsonSchema } from './json-schema.js';

const BRANCH_KEYS = new Set(['required', 'not', 'description', 'markdownDescription']);

/** The keys a `not` forbids when it is only `{required: [...]}` or an anyOf of those; else undefined. */
function forbiddenKeys(not: unknown): string[] | undefined {
  if (not === undefined) return [];
  const n = not as JsonSchema;
  const only = (s: JsonSchema, key: string) => Object.keys(s).every((k) => k === key || k === 'description');
  if (Array.isArray(n.required) && only(n, 'required')) return n.required.length === 1 ? n.required.map(String) : undefined;
  if (Array.isArray(n.anyOf) && only(n, 'anyOf')) {
    const parts = (n.anyOf as unknown[]).map(forbiddenKeys);
    return parts.every((p) => p !== undefined && p.length === 1) ? (parts as string[][]).flat() : undefined;
  }
  return undefined;
}

/** The chosen key of each branch and what else it forbids, when `s` is a one-of-keys object; else undefined. */
function oneOfKeys(s: JsonSchema): { key: string; forbids: string[]; branch: JsonSchema }[] | undefined {
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (!props || s.additionalProperties !== false || !Array.isArray(s.oneOf) || s.oneOf.length < 2) return undefined;
  const out = [];
  for (const b of s.oneOf as JsonSchema[]) {
    if (!Object.keys(b).every((k) => BRANCH_KEYS.has(k))) return undefined;
    const req = b.required;
    if (!Array.isArray(req) || req.length !== 1 || !(String(req[0]) in props)) return undefined;
    const forbids = forbiddenKeys(b.not);
    if (!forbids) return undefined;
    out.push({ key: String(req[0]), forbids, branch: b });
  }
  return out;
}

/**
 * Rewrites `s` in place when it is a one-of-keys object. The branches get no title: on hover
 * yaml-language-server takes the first title among the schemas matching a value, the branch
 * before its field, and the field's name is what to show.
 */
export function splitOneOfKeys(s: JsonSchema): boolean {
  const alternatives = oneOfKeys(s);
  if (!alternatives) return false;
  const props = s.properties as Record<string, JsonSchema>;
  const keys = alternatives.map((a) => a.key);
  s.oneOf = alternatives.map(({ key, forbids, branch }) => {
    const excluded = new Set([...keys.filter((k) => k !== key), ...forbids]);
    const { description, markdownDescription } = branch;
    return {
      ...(description === undefined ? {} : { description }),
      ...(markdownDescription === undefined ? {} : { markdownDescription }),
      type: 'object',
      additionalProperties: false,
      required: [key],
      properties: Object.fromEntries(Object.entries(props).filter(([k]) => !excluded.has(k))),
    };
  });
  delete s.properties;
  delete s.additionalProperties;
  return true;
}
