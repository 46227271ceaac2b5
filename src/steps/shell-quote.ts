/** Characters that never need quoting in a POSIX shell word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One POSIX-shell word that stands for exactly `value`: used to insert interpolated values into
 * `shell.run` (spec §2: a value can never inject shell syntax) and to render argv lists.
 */
export function quoteShellWord(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  // Inside single quotes nothing is special except the quote itself: close, escape it, reopen.
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
