/**
 * Assembles the runbook JSON Schema (draft 2020-12) from the core fragments and what each registered
 * step type and connection kind declares. This is the validator's schema: `runbook validate`
 * compiles it with ajv and translates its errors (validate-schema.ts), and `npm run gen` makes from
 * it the TypeScript types (`src/dsl/runbook.generated.ts`), the precompiled validator and
 * docs/reference.md. Editors get `schema/runbook.schema.json`, made from this by editorSchema()
 * (schema-editor.ts): the same language, arranged and annotated for an editor. Tests fail when any
 * of these drift.
 */
import type { JsonSchema } from './json-schema.js';
import {
  allowExpressionsIn,
  CONTROL_BODIES,
  coreDefs,
  documentProperties,
  phaseSchema,
  rollbackCommonProperties,
  stepCommonProperties,
} from './schema-core.js';
import { connectionKinds, stepTypes } from '../steps/registry.js';

export const SCHEMA_ID = 'https://runbook.dev/schema/runbook.schema.json';

/** Every body key a step may have: the built-in types, then the control types. */
let keys: readonly string[] | undefined;
/** The keys that make a step's body: every step type's name, then the control bodies (one list, made once). */
export function bodyKeys(): readonly string[] {
  return (keys ??= Object.freeze([...stepTypes.map((t) => t.name), ...CONTROL_BODIES]));
}

let cached: JsonSchema | undefined;

export function runbookSchema(): JsonSchema {
  if (cached) return cached;
  const bodies: Record<string, JsonSchema> = {};
  // Bodies and connection configs accept a whole `${{ }}` wherever a typed value goes (see allowExpressionsIn).
  for (const t of stepTypes) bodies[t.name] = { ...allowExpressionsIn(t.schema), description: t.description };
  for (const c of CONTROL_BODIES) bodies[c] = { $ref: `#/$defs/${c}` };
  const oneBody = bodyKeys().map((k) => ({ required: [k] }));

  const connectionProps: Record<string, JsonSchema> = {};
  for (const k of connectionKinds) connectionProps[k.name] = { ...allowExpressionsIn(k.schema), description: k.description };

  cached = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: 'runbook',
    description: 'A declarative disaster-recovery runbook (runbook DSL v1).',
    type: 'object',
    additionalProperties: false,
    required: ['runbook', 'phases'],
    properties: documentProperties(),
    $defs: {
      ...coreDefs,
      phase: phaseSchema(),
      step: {
        type: 'object',
        description: 'A step: common fields plus exactly one body key (' + bodyKeys().join(', ') + ').',
        additionalProperties: false,
        required: ['id'],
        properties: { ...stepCommonProperties, ...bodies },
        oneOf: oneBody,
      },
      rollback: {
        type: 'object',
        description: "A step body that undoes this step (any type, with its own timeout/retry/when; `self` is the original step).",
        additionalProperties: false,
        properties: { ...rollbackCommonProperties, ...bodies },
        oneOf: oneBody,
      },
      connection: {
        type: 'object',
        description: 'A connection: exactly one kind (' + connectionKinds.map((k) => k.name).join(', ') + ').',
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        properties: connectionProps,
      },
    },
  };
  return cached;
}
