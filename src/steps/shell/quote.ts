import { shellQuote } from '../../dsl/expr/shell-quote.js';

/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One POSIX-shell word that stands for exactly `value`, for rendering argv lists in `plan`: safe
 * words stay bare for readability, anything else is quoted by the one quoting rule of `${{ }}`.
 */
export function quoteShellWord(value: string): string {
  return SAFE_WORD.test(value) ? value : shellQuote(value);
}
