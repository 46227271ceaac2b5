import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

/**
 * A standalone (precompiled) validator of the runbook schema, as TypeScript source. `validate`
 * answers "valid?" for every file at no compile cost; only an invalid file pays for compiling the
 * full validator whose errors are translated into messages.
 */
export function generateValidator(schema) {
  const ajv = new Ajv2020({ allErrors: false, strict: false, allowUnionTypes: true, code: { source: true, esm: true, lines: false } });
  const validate = ajv.compile(structuredClone(schema));
  let code = standaloneCode.default ? standaloneCode.default(ajv, validate) : standaloneCode(ajv, validate);
  // The ESM output still require()s ajv's runtime helpers: turn them into imports.
  const imports = [];
  code = code.replace(/require\("(ajv\/dist\/runtime\/[a-z0-9]+)"\)(\.default)?/g, (_, mod, dflt) => {
    const name = `runtime${imports.length}`;
    imports.push(`import ${name} from '${mod}.js';`);
    return dflt ? `(${name}.default ?? ${name})` : name;
  });
  return [
    '// @ts-nocheck',
    '/* Generated from schema/runbook.schema.json by `npm run gen` (scripts/gen-validator.mjs) — do not edit. */',
    ...imports,
    code,
    '',
  ].join('\n');
}
