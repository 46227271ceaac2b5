// Writes schema/runbook.schema.json from the built schema module, then from that file the TypeScript
// types src/dsl/runbook.generated.ts and the field reference docs/reference.md. `test/dsl/schema-drift.test.ts` fails when either is stale.
import { writeFileSync } from 'node:fs';
import { runbookSchema } from '../dist/src/dsl/schema.js';
import { generateTypes } from './gen-types.mjs';
import { renderReference } from './gen-docs.mjs';
import { generateValidator } from './gen-validator.mjs';

const schema = runbookSchema();
writeFileSync(new URL('../schema/runbook.schema.json', import.meta.url), JSON.stringify(schema, null, 2) + '\n');
writeFileSync(new URL('../src/dsl/runbook.generated.ts', import.meta.url), await generateTypes(schema));
writeFileSync(new URL('../docs/reference.md', import.meta.url), renderReference(schema));
writeFileSync(new URL('../src/dsl/schema-check.generated.ts', import.meta.url), generateValidator(schema));
console.log('wrote schema/runbook.schema.json, src/dsl/runbook.generated.ts, src/dsl/schema-check.generated.ts and docs/reference.md');
