// The editor-facing schema (schema/runbook.schema.json) against the validator's (runbookSchema()):
// it accepts exactly the same runbooks, on every YAML file of the repository and on generated
// steps; every field carries its hover text and every pattern a message in words; and it is made
// without naming any field, so a field added to a step type gets all of it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { bodyKeys, runbookSchema } from '../../src/dsl/schema.js';
import { validate as precompiled } from '../../src/dsl/schema-check.generated.js';
import { editorSchema } from '../../src/dsl/schema-editor.js';
import { everySchema, subschemas } from '../../src/dsl/schema-walk.js';
import type { JsonSchema } from '../../src/dsl/json-schema.js';
import { assertBuilt, CLI, REPO } from '../helpers/cli.js';
import { yamlFiles } from '../helpers/files.js';

const compile = (schema: JsonSchema): ValidateFunction => new Ajv2020({ strict: false, allowUnionTypes: true }).compile(schema);
const strict = compile(runbookSchema());
const editor = compile(editorSchema(runbookSchema()));

const documents = ['runbooks', 'examples', 'test/runbooks']
  .flatMap((d) => yamlFiles(join(REPO, d)))
  .map((f) => {
    try {
      return { file: relative(REPO, f), data: parse(readFileSync(f, 'utf8')) as unknown };
    } catch {
      return undefined; // not YAML at all: nothing for a schema to say
    }
  })
  .filter((d) => d !== undefined);

describe('editor schema accepts what validate accepts', () => {
  it('on every runbook of the repository, valid and invalid', () => {
    expect(documents.length).toBeGreaterThan(100);
    const disagree = documents.filter(({ data }) => strict(data) !== editor(data)).map((d) => d.file);
    expect(disagree).toEqual([]);
    // The precompiled validator (its one-body rule written without oneOf, scripts/gen-validator.mjs) too.
    expect(documents.filter(({ data }) => strict(data) !== precompiled(data)).map((d) => d.file)).toEqual([]);
    // Both verdicts occur: the comparison is not between two schemas that accept everything.
    expect(documents.filter(({ data }) => !strict(data)).length).toBeGreaterThan(20);
    expect(documents.filter(({ data }) => strict(data)).length).toBeGreaterThan(20);
  });

  // Steps (and rollbacks) put together from the keys and values real runbooks use, several bodies,
  // none, run and command together, script with params…: the two schemas give the same verdict.
  it('on generated steps', () => {
    const seen = new Map<string, unknown[]>();
    const harvest = (step: unknown) => {
      if (!step || typeof step !== 'object' || Array.isArray(step)) return;
      for (const [k, v] of Object.entries(step)) {
        if (k === 'rollback') harvest(v);
        seen.set(k, [...(seen.get(k) ?? []), v]);
      }
    };
    for (const { data } of documents) {
      const d = data as { phases?: { steps?: unknown[]; finally?: unknown[] }[]; finally?: unknown[] } | null;
      for (const p of d?.phases ?? []) for (const s of [...(p?.steps ?? []), ...(p?.finally ?? [])]) harvest(s);
      for (const s of d?.finally ?? []) harvest(s);
    }
    const keys = [...seen.keys()];
    expect(keys).toEqual(expect.arrayContaining([...bodyKeys(), 'timeout', 'retry', 'rollback']));
    // A body is also made from parts of two real ones (shell: run and command; sql: script and params).
    const body = (k: string) =>
      fc
        .tuple(fc.constantFrom(...seen.get(k)!), fc.constantFrom(...seen.get(k)!))
        .map(([a, b]) => (a && b && typeof a === 'object' && typeof b === 'object' ? { ...a, ...b } : a));
    const step = fc
      .uniqueArray(fc.constantFrom(...keys), { minLength: 1, maxLength: 5 })
      .chain((ks) => fc.tuple(...ks.map((k) => (bodyKeys().includes(k) ? body(k) : fc.constantFrom(...seen.get(k)!)).map((v) => [k, v] as const))))
      .map((pairs) => ({ id: 'generated', ...Object.fromEntries(pairs) }));
    let accepted = 0;
    fc.assert(
      fc.property(step, (s) => {
        const doc = { runbook: 'generated', phases: [{ id: 'p', steps: [s] }] };
        if (strict(doc)) accepted++;
        expect(editor(doc), JSON.stringify(s)).toBe(strict(doc));
        expect(precompiled(doc), `precompiled: ${JSON.stringify(s)}`).toBe(strict(doc));
      }),
      { numRuns: 2000, seed: 15 },
    );
    expect(accepted).toBeGreaterThan(20);
  });
});

/** Every field (a schema under `properties`) of a schema, with where it is; not those of `if`/`not`, which only constrain. */
function* fields(s: JsonSchema, path = '#'): Generator<[string, JsonSchema]> {
  for (const [sub, place] of subschemas(s)) {
    if (place.kind === 'constraint') continue;
    const here = `${path}/${'name' in place ? place.name : place.kind}`;
    if (place.kind === 'property') yield [here, sub];
    yield* fields(sub, here);
  }
}

describe('what an editor shows', () => {
  const schema = editorSchema(runbookSchema());

  it('every field has its name as title and a markdown text with its type', () => {
    const all = [...fields(schema)];
    expect(all.length).toBeGreaterThan(400);
    const bad = all.filter(([path, s]) => s.title !== path.split('/').pop() || !/^\*\*(Type|Required):\*\* \S/.test(String(s.markdownDescription)));
    expect(bad.map(([p]) => p)).toEqual([]);
  });

  it('every pattern has a message in words, never the regex', () => {
    const withPattern = [...everySchema(schema)].filter((s) => typeof s.pattern === 'string');
    expect(withPattern.length).toBeGreaterThan(10);
    const raw = withPattern.filter((s) => typeof s.errorMessage !== 'string' || s.errorMessage.includes(s.pattern as string) || /[\^\\]|\(\?/.test(s.errorMessage));
    expect(raw.map((s) => [s.pattern, s.errorMessage])).toEqual([]);
  });

  it('each branch of a step offers exactly one body key', () => {
    for (const def of ['step', 'rollback']) {
      const branches = ((schema.$defs as Record<string, JsonSchema>)[def].oneOf as JsonSchema[]).map((b) => Object.keys(b.properties as object).filter((k) => bodyKeys().includes(k)));
      expect(branches).toEqual(bodyKeys().map((k) => [k]));
    }
  });

  it('a field added to a step type gets its title, text and pattern message without being listed anywhere', () => {
    const base = runbookSchema();
    const step = (base.$defs as Record<string, JsonSchema>).step;
    const grown: JsonSchema = {
      ...base,
      $defs: {
        ...(base.$defs as object),
        step: {
          ...step,
          properties: {
            ...(step.properties as object),
            max_failures: { type: 'string', pattern: '^[0-9]+%$', description: 'A share of the hosts that may fail, e.g. 25%.' },
          },
        },
      },
    };
    const branch = ((editorSchema(grown).$defs as Record<string, JsonSchema>).step.oneOf as JsonSchema[])[0];
    const field = (branch.properties as Record<string, JsonSchema>).max_failures;
    expect(field).toMatchObject({
      title: 'max_failures',
      markdownDescription: '**Type:** A string\n\nA share of the hosts that may fail, e.g. 25%.',
      errorMessage: 'Expected: A share of the hosts that may fail, e.g. 25%.',
    });
  });

  it('`runbook schema` prints schema/runbook.schema.json', () => {
    assertBuilt();
    const printed = execFileSync(process.execPath, [CLI, 'schema'], { encoding: 'utf8' });
    expect(printed).toBe(readFileSync(join(REPO, 'schema/runbook.schema.json'), 'utf8'));
  });
});
