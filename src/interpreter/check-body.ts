/**
 * A body whose `${{ }}` were just resolved is checked against its type's schema fragment before the
 * type sees it: validation accepted `expect_status: "${{ params.codes }}"`, but only now is it known
 * whether that became a list of numbers. A bad value fails the step with a message naming the field,
 * instead of an obscure error deep in a client library. Bodies without expressions were fully
 * checked at validation and are not checked again.
 */
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { hasExpressions } from '../dsl/expr/index.js';
import { runbookSchema } from '../dsl/schema.js';
import type { StepType } from '../steps/types.js';
import { StepFailure } from '../steps/types.js';

const validators = new Map<string, ValidateFunction>();

function validatorOf(t: StepType<any>): ValidateFunction {
  let v = validators.get(t.name);
  if (!v) {
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true });
    v = ajv.compile({ ...t.schema, $defs: runbookSchema().$defs });
    validators.set(t.name, v);
  }
  return v;
}

function anyExpression(v: unknown): boolean {
  if (typeof v === 'string') return hasExpressions(v);
  if (Array.isArray(v)) return v.some(anyExpression);
  if (v && typeof v === 'object') return Object.values(v).some(anyExpression);
  return false;
}

export function checkResolvedBody(t: StepType<any>, raw: unknown, resolved: unknown): void {
  if (!anyExpression(raw)) return;
  const validate = validatorOf(t);
  if (validate(resolved)) return;
  const problems = (validate.errors ?? [])
    .filter((e) => !['anyOf', 'oneOf', 'if'].includes(e.keyword))
    .map((e) => `${e.instancePath ? `'${e.instancePath.slice(1).replace(/\//g, '.')}' ` : ''}${e.message ?? 'is invalid'}`);
  const unique = [...new Set(problems.length ? problems : (validate.errors ?? []).map((e) => `'${e.instancePath.slice(1)}' ${e.message}`))];
  throw new StepFailure(`${t.name} body after resolving \${{ }}: ${unique.slice(0, 3).join('; ')}`, undefined, 'BODY_INVALID');
}
