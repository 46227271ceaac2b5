import { EOF, type ILexingError, type IRecognitionException } from './chevrotain.js';
import type { Expr } from './ast.js';
import { ExprError } from './errors.js';
import { parser } from './parser.js';
import * as T from './tokens.js';

// The interpreter re-evaluates the same expressions many times: parse each source text once.
const cache = new Map<string, Expr | ExprError>();
const CACHE_LIMIT = 10_000;

/**
 * Parses one expression (no `${{ }}`). Throws ExprError: EXPR_SYNTAX with the offset of the
 * offending text, or EXPR_FUNCTION for an unknown function or a wrong number of arguments.
 * The returned AST is frozen and shared: do not mutate it.
 */
export function parseExpression(source: string): Expr {
  let hit = cache.get(source);
  if (hit === undefined) {
    hit = parseUncached(source);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(source, hit);
  }
  if (hit instanceof ExprError) throw hit;
  return hit;
}

function parseUncached(source: string): Expr | ExprError {
  try {
    const lexed = T.lexer.tokenize(source);
    if (lexed.errors.length) return lexError(source, lexed.errors[0]);
    const bad = lexed.tokens.find((t) => t.tokenType === T.BadNumber || t.tokenType === T.UnterminatedString);
    if (bad?.tokenType === T.UnterminatedString) {
      return new ExprError('EXPR_SYNTAX', `unterminated string — missing closing ${bad.image[0]}`, bad.startOffset, bad.image.length);
    }
    if (bad) {
      const message = `invalid number or duration '${bad.image}' (durations look like 250ms, 30s, 5m, 1h30m)`;
      return new ExprError('EXPR_SYNTAX', message, bad.startOffset, bad.image.length);
    }
    if (lexed.tokens.length === 0) return new ExprError('EXPR_SYNTAX', 'empty expression', 0, source.length);
    const expr = parser.parse(lexed.tokens);
    if (!expr) return syntaxError(source, parser.errors[0]);
    return deepFreeze(expr);
  } catch (e) {
    if (e instanceof ExprError) return e;
    throw e;
  }
}

function syntaxError(source: string, e: IRecognitionException): ExprError {
  const t = e.token;
  if (t.tokenType === EOF || Number.isNaN(t.startOffset)) return new ExprError('EXPR_SYNTAX', e.message, source.length, 0);
  return new ExprError('EXPR_SYNTAX', e.message, t.startOffset, t.image.length);
}

const HINTS: Record<string, string> = {
  '=': "use '==' to compare",
  '&': "use '&&'",
  '|': "use '||'",
  $: "'${{ }}' must wrap the whole expression",
  '{': 'object literals are not supported',
  '}': "'}' outside '${{ }}'",
};

function lexError(source: string, e: ILexingError): ExprError {
  const ch = source[e.offset] ?? '';
  const shown = /[\x00-\x1f\x7f]/.test(ch) ? JSON.stringify(ch) : `'${ch}'`;
  const hint = HINTS[ch];
  return new ExprError('EXPR_SYNTAX', `unexpected character ${shown}${hint ? ` — ${hint}` : ''}`, e.offset, 1);
}

function deepFreeze<V>(v: V): V {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    // for…in, not Object.values: no array per node (an AST is plain objects and arrays, nothing inherited to enumerate).
    for (const k in v) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
