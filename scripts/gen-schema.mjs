// Writes what is derived from the runbook schema. Two forms of it, from the same sources:
// - the validator's schema, runbookSchema() of src/dsl/schema.ts: `runbook validate` compiles it with
//   ajv (its errors are translated into messages), and from it come the TypeScript types
//   src/dsl/runbook.generated.ts, the precompiled validator src/dsl/schema-check.generated.ts and the
//   field reference docs/reference.md;
// - the editor-facing schema/runbook.schema.json, editorSchema() of src/dsl/schema-editor.ts: the same
//   language with hover texts, pattern messages and one branch per step body, for yaml-language-server
//   and other editors (docs/editors.md).
// test/dsl/schema-drift.test.ts fails when any of these is stale.
import { writeFileSync } from 'node:fs';
import { runbookSchema } from '../dist/src/dsl/schema.js';
import { editorSchema } from '../dist/src/dsl/schema-editor.js';
import { generateTypes } from './gen-types.mjs';
import { renderReference } from './gen-docs.mjs';
import { generateValidator } from './gen-validator.mjs';

const schema = runbookSchema();
writeFileSync(new URL('../schema/runbook.schema.json', import.meta.url), JSON.stringify(editorSchema(schema), null, 2) + '\n');
writeFileSync(new URL('../src/dsl/runbook.generated.ts', import.meta.url), await generateTypes(schema));
writeFileSync(new URL('../docs/reference.md', import.meta.url), renderReference(schema));
writeFileSync(new URL('../src/dsl/schema-check.generated.ts', import.meta.url), generateValidator(schema));
console.log('wrote schema/runbook.schema.json, src/dsl/runbook.generated.ts, src/dsl/schema-check.generated.ts and docs/reference.md');
