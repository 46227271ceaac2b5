import type { Expr } from './ast.js';
import { ExprError } from './errors.js';
import { evaluate, type Scope } from './evaluate.js';
import { parseExpression } from './parse.js';
import { shellDisplay, shellScript, type ShellScript } from './shell-quote.js';
import { renderUrl } from './url-quote.js';
import { containsUnknown, stringifyValue, UNKNOWN } from './values.js';

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'expr'; source: string; expr: Expr; /** where `source` starts in the template */ offset: number };

const OPEN = '${{';
const CLOSE = '}}';

/** True when the text holds at least one `${{`. */
export function hasExpressions(text: string): boolean {
  return text.includes(OPEN);
}

/**
 * Splits a string into text and `${{ expr }}` parts and parses each expression. Throws ExprError with
 * offsets relative to the template string (unterminated `${{`, or a syntax error inside).
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf(OPEN, pos);
    if (open < 0) break;
    if (open > pos) parts.push({ kind: 'text', text: text.slice(pos, open) });
    const offset = open + OPEN.length;
    const close = findClose(text, offset);
    if (close < 0) throw new ExprError('EXPR_SYNTAX', "unterminated '${{' — missing '}}'", open, OPEN.length);
    const source = text.slice(offset, close);
    let expr: Expr;
    try {
      expr = parseExpression(source);
    } catch (e) {
      throw e instanceof ExprError ? e.shift(offset) : e;
    }
    parts.push({ kind: 'expr', source, expr, offset });
    pos = close + CLOSE.length;
  }
  if (pos < text.length) parts.push({ kind: 'text', text: text.slice(pos) });
  return parts;
}

// The first `}}` outside a string literal, so `${{ '}}' }}` works. A regex jumps from quote to `}}`
// (validation parses every template of a file once, in code not yet compiled, where a loop over
// characters is slow); inside a literal, a backslash escapes the next character.
const QUOTE_OR_CLOSE = /['"]|\}\}/g;
function findClose(text: string, from: number): number {
  QUOTE_OR_CLOSE.lastIndex = from;
  while (QUOTE_OR_CLOSE.test(text)) {
    const end = QUOTE_OR_CLOSE.lastIndex;
    if (text[end - 1] === '}') return end - 2;
    const quote = text[end - 1];
    let i = end;
    for (; i < text.length && text[i] !== quote; i++) if (text[i] === '\\') i++;
    if (i >= text.length) return -1;
    QUOTE_OR_CLOSE.lastIndex = i + 1;
  }
  return -1;
}

/** Exactly one `${{ }}` and nothing else, not even whitespace. */
export function isWholeExpression(parts: TemplatePart[]): boolean {
  return parts.length === 1 && parts[0].kind === 'expr';
}

export interface RenderOptions {
  /** Render unknown parts as their `${{ source }}` text (plans) instead of returning UNKNOWN. */
  keepUnknown?: boolean;
}

/**
 * Renders parsed template parts. A whole single expression gives the value itself, type kept;
 * otherwise the text joined (null → '', lists/objects → JSON). A value that is (or holds) UNKNOWN
 * makes the result UNKNOWN, or with
 * `keepUnknown` is shown as its original `${{ source }}`. Evaluation errors are rethrown with
 * offsets relative to the template string.
 */
export function renderTemplate(parts: TemplatePart[], scope: Scope, opts: RenderOptions = {}): unknown {
  if (isWholeExpression(parts)) {
    const part = parts[0] as Extract<TemplatePart, { kind: 'expr' }>;
    const value = evaluatePart(part, scope);
    if (containsUnknown(value)) return opts.keepUnknown ? original(part) : UNKNOWN;
    return value ?? null;
  }
  let out = '';
  for (const part of parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const value = evaluatePart(part, scope);
    if (containsUnknown(value)) {
      if (!opts.keepUnknown) return UNKNOWN;
      out += original(part);
      continue;
    }
    out += stringifyValue(value);
  }
  return out;
}

/** Each `${{ }}` part evaluated to its text (by part index), and whether any of them is unknown. */
function evaluateParts(parts: TemplatePart[], scope: Scope): { texts: (string | undefined)[]; unknown: boolean } {
  const texts: (string | undefined)[] = [];
  let unknown = false;
  for (const [i, part] of parts.entries()) {
    if (part.kind === 'text') continue;
    const value = evaluatePart(part, scope);
    if (containsUnknown(value)) unknown = true;
    else texts[i] = stringifyValue(value);
  }
  return { texts, unknown };
}

/**
 * A shell script template (`shell.run`, docker string `cmd`) with its values, by the rule of
 * shell-quote.ts: the script that runs and the variables that carry the values, or with `display`
 * the text an operator reads (values quoted in place). Unknown values give UNKNOWN, or with
 * `keepUnknown` (display only) their `${{ }}` source. Always text, even for a whole expression.
 */
export function renderShellTemplate(text: string, parts: TemplatePart[], scope: Scope, opts: RenderOptions & { display?: boolean } = {}): ShellScript | string | typeof UNKNOWN {
  const { texts, unknown } = evaluateParts(parts, scope);
  if (unknown && !(opts.display && opts.keepUnknown)) return UNKNOWN;
  return opts.display ? shellDisplay(text, parts, texts) : shellScript(text, parts, texts);
}

function evaluatePart(part: Extract<TemplatePart, { kind: 'expr' }>, scope: Scope): unknown {
  try {
    return evaluate(part.expr, scope);
  } catch (e) {
    throw e instanceof ExprError ? e.shift(part.offset) : e;
  }
}

const original = (part: Extract<TemplatePart, { kind: 'expr' }>) => `${OPEN}${part.source}${CLOSE}`;

/**
 * For `when`, `expect`, `assert`, `until.condition`, `for_each`: a bare expression, or one wrapped in
 * `${{ }}` (whitespace around the wrapper allowed). `offset` is where the expression source starts in `text`.
 */
export function parseBareExpression(text: string): { expr: Expr; offset: number } {
  const lead = text.length - text.trimStart().length;
  const trimmed = text.trim();
  if (trimmed.startsWith(OPEN)) {
    let parts: TemplatePart[];
    try {
      parts = parseTemplate(trimmed);
    } catch (e) {
      throw e instanceof ExprError ? e.shift(lead) : e;
    }
    if (isWholeExpression(parts)) {
      const part = parts[0] as Extract<TemplatePart, { kind: 'expr' }>;
      return { expr: part.expr, offset: lead + part.offset };
    }
    throw new ExprError('EXPR_SYNTAX', "'${{ }}' must wrap the whole expression", lead, trimmed.length);
  }
  return { expr: parseExpression(text), offset: 0 };
}

/**
 * A URL template (http `url`, connection URLs) with each value percent-encoded for the part of the
 * URL it sits in (url-quote.ts). Exactly one `${{ }}` gives the value as written, type kept.
 */
export function renderUrlTemplate(parts: TemplatePart[], scope: Scope, opts: RenderOptions = {}): unknown {
  if (isWholeExpression(parts)) return renderTemplate(parts, scope, opts);
  const { texts, unknown } = evaluateParts(parts, scope);
  if (unknown && !opts.keepUnknown) return UNKNOWN;
  return renderUrl(parts, texts);
}
