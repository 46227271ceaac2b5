/**
 * What the shell scanner (shell-scan.ts) says about a `${{ }}`: its context, and for a context where
 * a value cannot be passed safely, where that is and what to write instead (SHELL_QUOTE messages).
 */

/** A character of the script, or the index of a `${{ }}` placeholder. */
export type Tok = string | number;

export type ShellContext = { kind: 'word' | 'double' | 'heredoc' | 'comment' } | { kind: 'unsafe'; where: string; fix: string };

const CLOSE_QUOTES = `close the quotes around it: 'text '"\${{ x }}"' more'`;
const ARITH_FIX = 'assign it to a variable, check that it is a number ([[ $n =~ ^-?[0-9]+$ ]] || exit 2), then use $n';

/** Where a placeholder is, and what to write instead. */
export const UNSAFE = {
  single: { where: "inside single quotes ('…')", fix: CLOSE_QUOTES },
  ansi: { where: "inside $'…'", fix: CLOSE_QUOTES },
  quotedHeredoc: { where: "inside a quoted heredoc (<<'EOF')", fix: 'use an unquoted heredoc (<<EOF), where it is expanded like "…"' },
  param: { where: 'inside ${ } (a parameter expansion)', fix: 'assign it to a variable first (v=${{ x }}) and use "${FOO:-$v}"' },
  arith: { where: 'inside arithmetic ($(( )), (( )) or $[ ]), where bash evaluates a value as an expression', fix: ARITH_FIX },
  subscript: { where: 'inside [ ] (an array subscript is arithmetic: bash evaluates a value as an expression)', fix: ARITH_FIX },
  let: { where: "in a 'let' or 'declare -i' command, or assigned to a variable declared -i, where bash evaluates a value as an expression", fix: ARITH_FIX },
  reparse: { where: "as an argument of 'eval' or 'trap', which parse it again as shell code", fix: 'run the command directly instead of through eval or trap' },
  test: { where: 'in a [[ ]] with -eq/-ne/-lt/-le/-gt/-ge, where bash evaluates a value as an expression', fix: ARITH_FIX },
  dollar: { where: "right after '$'", fix: "remove the '$' before it" },
  backslash: { where: "right after a backslash '\\'", fix: 'remove the backslash before it' },
  delimiter: { where: 'as a heredoc delimiter', fix: 'write the delimiter literally' },
};
export type Unsafe = (typeof UNSAFE)[keyof typeof UNSAFE];
