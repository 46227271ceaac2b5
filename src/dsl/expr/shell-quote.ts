/**
 * The one quoting rule of `${{ }}` in a shell script (`shell.run`, a docker string `cmd`; spec §12):
 * a value reaches the script as the value of an environment variable, never as shell text. Each
 * placeholder is replaced by a reference to its own variable, chosen by its context (shell-scan.ts):
 * bare → "${RUNBOOK_V_n}" (one word), inside double quotes or an unquoted heredoc → ${RUNBOOK_V_n}.
 * Contexts where that cannot be done safely are SHELL_QUOTE errors, found at validation.
 */
import { ExprError } from './errors.js';
import { scanShell, type ShellContext, type Tok } from './shell-scan.js';
import type { TemplatePart } from './template.js';

export type { ShellContext } from './shell-scan.js';

/**
 * Prefix of the variables that carry values into a script. The interpreter sets them per step,
 * over anything inherited; a step's own `env` may not use the prefix (validation error).
 */
export const SHELL_VALUE_PREFIX = 'RUNBOOK_V_';

export const shellValueVar = (n: number) => `${SHELL_VALUE_PREFIX}${n}`;

/**
 * One bash word holding exactly `s`: single quotes, each `'` written as `'\''`; `''` for the empty
 * string. Nothing inside single quotes is special to bash (`$`, backticks, `\`, newlines). Used to
 * show values to an operator (plan, --step, argv lists), never to build an executed script.
 * Bash arguments cannot hold NUL, so a NUL is an error, not truncation.
 */
export function shellQuote(s: string): string {
  refuseNul(s);
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/** A value written between double quotes (or in an unquoted heredoc) that bash reads back unchanged. */
function doubleQuoteText(s: string, heredoc: boolean): string {
  return s.replace(heredoc ? /[\\$`]/g : /[\\$`"]/g, '\\$&');
}

function refuseNul(s: string): void {
  if (s.includes('\0')) throw new ExprError('EXPR_EVAL', 'a value passed to the shell contains a NUL character', 0);
}

export interface ShellPlaceholder {
  /** Index of the part in the template. */
  part: number;
  /** Offset of its `${{` in the template text. */
  offset: number;
  context: ShellContext;
}

const cache = new Map<string, ShellPlaceholder[]>();

/** The context of every `${{ }}` of a script template, in order. */
export function shellPlaceholders(text: string, parts: TemplatePart[]): ShellPlaceholder[] {
  let found = cache.get(text);
  if (found) return found;
  const toks: Tok[] = [];
  const where: { part: number; offset: number }[] = [];
  parts.forEach((p, i) => {
    if (p.kind === 'text') for (const ch of p.text) toks.push(ch);
    else {
      toks.push(where.length);
      where.push({ part: i, offset: p.offset - 3 });
    }
  });
  const contexts = scanShell(toks);
  found = where.map((w, n) => ({ ...w, context: contexts[n] ?? { kind: 'word' } }));
  cache.set(text, found);
  return found;
}

/** The message of a SHELL_QUOTE error, with what to write instead. */
export function shellQuoteMessage(ctx: { where: string; fix: string }): string {
  return `\${{ }} cannot be passed to the shell safely ${ctx.where}: ${ctx.fix}`;
}

export interface ShellScript {
  /** The script to run: every value replaced by a reference to its variable. */
  script: string;
  /** The variables to set for it. */
  env: Record<string, string>;
}

/**
 * The executed form of a script template whose values are known (`texts[i]` for part i, as text).
 * Throws ExprError at an unsafe placeholder (validation reports these first).
 */
export function shellScript(text: string, parts: TemplatePart[], texts: (string | undefined)[]): ShellScript {
  const places = shellPlaceholders(text, parts);
  const byPart = new Map(places.map((p, n) => [p.part, { ...p, n }]));
  let script = '';
  const env: Record<string, string> = {};
  parts.forEach((p, i) => {
    if (p.kind === 'text') {
      script += p.text;
      return;
    }
    const place = byPart.get(i)!;
    const ctx = place.context;
    if (ctx.kind === 'unsafe') throw new ExprError('SHELL_QUOTE', shellQuoteMessage(ctx), place.offset, p.source.length + 5);
    const value = texts[i] ?? '';
    refuseNul(value);
    const name = shellValueVar(place.n);
    env[name] = value;
    script += ctx.kind === 'double' || ctx.kind === 'heredoc' ? `\${${name}}` : `"\${${name}}"`;
  });
  return { script, env };
}

/**
 * `export NAME='value'` lines that set a script's variables from inside the script, for a transport
 * that cannot pass environment variables (an sshd accepts only the names in its AcceptEnv). Each value
 * is one single-quoted word, which bash reads back exactly; names must be valid identifiers.
 */
export function envPrelude(env: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ExprError('EXPR_EVAL', `not a variable name: ${JSON.stringify(name)}`, 0);
    out += `export ${name}=${shellQuote(value)}\n`;
  }
  return out;
}

/**
 * The same script as an operator should read it (plan, --step, dry run): each value written in place,
 * quoted for its context so the text means what runs. `undefined` keeps the part's `${{ }}` source.
 */
export function shellDisplay(text: string, parts: TemplatePart[], texts: (string | undefined)[]): string {
  const places = shellPlaceholders(text, parts);
  const byPart = new Map(places.map((p) => [p.part, p]));
  let out = '';
  parts.forEach((p, i) => {
    if (p.kind === 'text') {
      out += p.text;
      return;
    }
    const value = texts[i];
    const ctx = byPart.get(i)!.context;
    if (value === undefined || ctx.kind === 'unsafe') out += `\${{${p.source}}}`;
    else if (ctx.kind === 'double' || ctx.kind === 'heredoc') out += doubleQuoteText(value, ctx.kind === 'heredoc');
    else out += shellQuote(value);
  });
  return out;
}
