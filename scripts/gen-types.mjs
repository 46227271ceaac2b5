import { compile } from 'json-schema-to-typescript';

/** TypeScript types of a runbook document, generated from the JSON Schema (the one source of truth). */
export async function generateTypes(schema) {
  const ts = await compile(structuredClone(schema), 'RunbookDocument', {
    bannerComment:
      '/* Generated from the runbook schema (src/dsl/schema.ts) by `npm run gen` — do not edit. */\n/* eslint-disable */',
    additionalProperties: false,
    unreachableDefinitions: true,
    strictIndexSignatures: false,
    format: true,
    style: { singleQuote: true, printWidth: 120 },
  });
  return ts;
}
