/** The AST nodes the parser builds (parser.ts), with the checks a well-formed text can still fail. */
import type { IToken } from './chevrotain.js';
import type { BinaryOp, Expr } from './ast.js';
import { ExprError } from './errors.js';
import { checkCall } from './functions.js';
import * as T from './tokens.js';
import { parseDuration } from '../duration.js';

export const end = (t: IToken) => t.startOffset + t.image.length;

export function binary(left: Expr, op: IToken, right: Expr): Expr {
  return { kind: 'binary', op: op.image as BinaryOp, left, right, start: left.start, end: right.end };
}

export function unary(op: IToken, operand: Expr): Expr {
  return { kind: 'unary', op: op.image as '!' | '-', operand, start: op.startOffset, end: operand.end };
}

export function member(object: Expr, name: IToken): Expr {
  return { kind: 'member', object, name: name.image, start: object.start, end: end(name) };
}

export function index(object: Expr, index: Expr, close: IToken): Expr {
  return { kind: 'index', object, index, start: object.start, end: end(close) };
}

/** A call's node, and the check of its function's name and number of arguments. */
export function call(name: IToken, args: Expr[], close: IToken): { expr: Expr; check: () => void } {
  const expr: Expr = { kind: 'call', name: name.image, args, start: name.startOffset, end: end(close) };
  return { expr, check: () => checkCall(expr as Extract<Expr, { kind: 'call' }>, name.image.length) };
}

/** A literal's node; for a duration whose value does not parse, the check that reports it. */
export function literal(t: IToken): { expr: Expr; check?: () => void } {
  const span = { start: t.startOffset, end: end(t) };
  switch (t.tokenType) {
    case T.StringLiteral:
      return { expr: { kind: 'literal', value: unescape(t.image.slice(1, -1)), ...span } };
    case T.NumberLiteral:
      return { expr: { kind: 'literal', value: Number(t.image), ...span } };
    case T.DurationLiteral: {
      const ms = parseDuration(t.image);
      const check = () => {
        throw new ExprError('EXPR_SYNTAX', `invalid duration '${t.image}'`, t.startOffset, t.image.length);
      };
      return { expr: { kind: 'duration', value: ms ?? 0, text: t.image, ...span }, check: ms === undefined ? check : undefined };
    }
    case T.True:
      return { expr: { kind: 'literal', value: true, ...span } };
    case T.False:
      return { expr: { kind: 'literal', value: false, ...span } };
    default:
      return { expr: { kind: 'literal', value: null, ...span } };
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', "'": "'", '"': '"', '\\': '\\' };

// Unknown escapes keep their backslash, so regexes read naturally: matches(x, '^\d+$').
function unescape(body: string): string {
  return body.replace(/\\([\s\S])/g, (all, ch: string) => ESCAPES[ch] ?? all);
}
