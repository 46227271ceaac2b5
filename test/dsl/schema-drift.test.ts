// The JSON Schema is built from the step types' fragments. What is generated from it is committed:
// the editor-facing schema/runbook.schema.json (editorSchema() of the validator's schema), and from
// the validator's schema itself the TypeScript types and the precompiled validator. None may drift
// from the code.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runbookSchema } from '../../src/dsl/schema.js';
import { editorSchema } from '../../src/dsl/schema-editor.js';
// @ts-expect-error -- a plain .mjs build script without type declarations
import { generateTypes } from '../../scripts/gen-types.mjs';

type Schema = { [key: string]: unknown };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCHEMA_FILE = resolve(ROOT, 'schema/runbook.schema.json');
const TYPES_FILE = resolve(ROOT, 'src/dsl/runbook.generated.ts');
const STALE = 'is stale: run npm run gen (after npx tsc -p .) and commit the result';

/** Every subschema with the JSON pointer it sits at; `if`/`then`/`not` only constrain, not describe. */
function* walk(s: unknown, pointer = '#'): Generator<[string, Schema]> {
  if (!s || typeof s !== 'object' || Array.isArray(s)) return;
  const schema = s as Schema;
  yield [pointer, schema];
  for (const key of ['properties', '$defs']) {
    const map = schema[key] as Record<string, unknown> | undefined;
    if (map) for (const [k, v] of Object.entries(map)) yield* walk(v, `${pointer}/${key}/${k}`);
  }
  for (const key of ['items', 'additionalProperties']) {
    if (schema[key] && typeof schema[key] === 'object') yield* walk(schema[key], `${pointer}/${key}`);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const list = schema[key] as unknown[] | undefined;
    if (Array.isArray(list)) for (const [i, v] of list.entries()) yield* walk(v, `${pointer}/${key}/${i}`);
  }
}

function resolveRef(root: Schema, ref: string): Schema | undefined {
  let node: unknown = root;
  for (const part of ref.replace(/^#\//, '').split('/')) node = (node as Schema | undefined)?.[part];
  return node as Schema | undefined;
}

describe('schema drift', () => {
  it('schema/runbook.schema.json is exactly the editor schema made from the built schema', () => {
    const built = JSON.stringify(editorSchema(runbookSchema()), null, 2) + '\n';
    expect(readFileSync(SCHEMA_FILE, 'utf8') === built, `schema/runbook.schema.json ${STALE}`).toBe(true);
  });

  it('src/dsl/runbook.generated.ts is exactly the types generated from the built schema', async () => {
    const generated = (await generateTypes(runbookSchema())) as string;
    expect(readFileSync(TYPES_FILE, 'utf8') === generated, `src/dsl/runbook.generated.ts ${STALE}`).toBe(true);
  });

  it('every property has a description', () => {
    const root = runbookSchema();
    const missing: string[] = [];
    let checked = 0;
    for (const [pointer, s] of walk(root)) {
      for (const [name, prop] of Object.entries((s.properties as Record<string, Schema> | undefined) ?? {})) {
        checked++;
        const ref = typeof prop.$ref === 'string' ? resolveRef(root, prop.$ref) : undefined;
        if (typeof prop.description === 'string' && prop.description.length > 0) continue;
        if (typeof ref?.description === 'string' && ref.description.length > 0) continue;
        missing.push(`${pointer}/properties/${name}`);
      }
    }
    expect(missing).toEqual([]);
    // The walk reaches the step bodies and connections, not just the top level.
    expect(checked).toBeGreaterThan(150);
  });

  it('every object schema with properties forbids unknown keys', () => {
    const open = [...walk(runbookSchema())]
      .filter(([, s]) => s.properties !== undefined && s.additionalProperties !== false)
      .map(([pointer]) => pointer);
    expect(open).toEqual([]);
  });
});

describe('precompiled validator', () => {
  it('src/dsl/schema-check.generated.ts is generated from the built schema (run npm run gen)', async () => {
    // @ts-expect-error plain ESM script without types
    const { generateValidator } = await import('../../scripts/gen-validator.mjs');
    const committed = readFileSync(new URL('../../src/dsl/schema-check.generated.ts', import.meta.url), 'utf8');
    expect(committed === generateValidator(runbookSchema()), 'src/dsl/schema-check.generated.ts is stale: run npm run gen').toBe(true);
  });
});
