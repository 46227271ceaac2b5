import { ExprError } from './errors.js';

/**
 * One bash word holding exactly `s`: single quotes, each `'` written as `'\''`; `''` for the empty
 * string. Nothing inside single quotes is special to bash (`$`, backticks, `\`, newlines), so a value
 * can never inject shell syntax. Bash arguments cannot hold NUL, so a NUL is an error, not truncation.
 */
export function shellQuote(s: string): string {
  if (s.includes('\0')) throw new ExprError('EXPR_EVAL', 'a value passed to the shell contains a NUL character', 0);
  return `'${s.replaceAll("'", "'\\''")}'`;
}
