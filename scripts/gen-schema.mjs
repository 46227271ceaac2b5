// Writes schema/runbook.schema.json from the built schema module, then the TypeScript types
// src/dsl/runbook.generated.ts from that file. `test/dsl/schema-drift.test.ts` fails when either is stale.
import { writeFileSync } from 'node:fs';
import { runbookSchema } from '../dist/src/dsl/schema.js';
import { generateTypes } from './gen-types.mjs';

const schema = runbookSchema();
writeFileSync(new URL('../schema/runbook.schema.json', import.meta.url), JSON.stringify(schema, null, 2) + '\n');
writeFileSync(new URL('../src/dsl/runbook.generated.ts', import.meta.url), await generateTypes(schema));
console.log('wrote schema/runbook.schema.json and src/dsl/runbook.generated.ts');
