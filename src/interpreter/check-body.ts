/**
 * A body whose `${{ }}` were just resolved is checked against its type's schema fragment before the
 * type sees it: validation accepted `expect_status: "${{ params.codes }}"`, but only now is it known
 * whether that became a list of numbers. A bad value fails the step with a message naming the field,
 * instead of an obscure error deep in a client library. Bodies without expressions were fully
 * checked at validation and are not checked again.
 */
import { hasExpressions } from '../dsl/expr/index.js';
import { EXPRESSION_STRING_PATTERN } from '../dsl/schema-core.js';
import * as precompiled from '../dsl/schema-check.generated.js';
import type { StepType } from '../steps/types.js';
import { StepFailure } from '../steps/types.js';

interface BodyValidator {
  (data: unknown): boolean;
  errors?: { instancePath: string; keyword: string; message?: string; params?: { pattern?: string } }[] | null;
}

// Precompiled at `npm run gen`: compiling here would stall the event loop in the middle of a run.
const validatorOf = (t: StepType<any>): BodyValidator | undefined =>
  (precompiled as unknown as Record<string, BodyValidator | undefined>)[`body_${t.name}`];

function anyExpression(v: unknown): boolean {
  if (typeof v === 'string') return hasExpressions(v);
  if (Array.isArray(v)) return v.some(anyExpression);
  if (v && typeof v === 'object') return Object.values(v).some(anyExpression);
  return false;
}

export function checkResolvedBody(t: StepType<any>, raw: unknown, resolved: unknown): void {
  if (!anyExpression(raw)) return;
  const validate = validatorOf(t);
  if (!validate || validate(resolved)) return;
  const problems = (validate.errors ?? [])
    // The "or a ${{ }} expression" branch validation allows means nothing once values are resolved.
    .filter((e) => !['anyOf', 'oneOf', 'if'].includes(e.keyword) && e.params?.pattern !== EXPRESSION_STRING_PATTERN)
    .map((e) => `${e.instancePath ? `'${e.instancePath.slice(1).replace(/\//g, '.')}' ` : ''}${e.message ?? 'is invalid'}`);
  const unique = [...new Set(problems.length ? problems : (validate.errors ?? []).map((e) => `'${e.instancePath.slice(1)}' ${e.message}`))];
  throw new StepFailure(`${t.name} body after resolving \${{ }}: ${unique.slice(0, 3).join('; ')}`, undefined, 'BODY_INVALID');
}
