/**
 * The expression AST. Every node carries `start`/`end`: character offsets (end exclusive) relative
 * to the start of the expression's source text, so errors can point into the YAML file.
 */
interface Span {
  start: number;
  end: number;
}

export type BinaryOp = '||' | '&&' | '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | '+' | '-' | '*' | '/' | '%';
export type UnaryOp = '!' | '-';

export type Expr =
  | ({ kind: 'literal'; value: string | number | boolean | null } & Span)
  | ({ kind: 'duration'; value: number; text: string } & Span)
  | ({ kind: 'list'; items: Expr[] } & Span)
  | ({ kind: 'ident'; name: string } & Span)
  | ({ kind: 'member'; object: Expr; name: string } & Span)
  | ({ kind: 'index'; object: Expr; index: Expr } & Span)
  | ({ kind: 'call'; name: string; args: Expr[] } & Span)
  | ({ kind: 'unary'; op: UnaryOp; operand: Expr } & Span)
  | ({ kind: 'binary'; op: BinaryOp; left: Expr; right: Expr } & Span);

/** The root names an expression may start with (spec §3, Scope). */
export const ROOTS: readonly string[] = Object.freeze([
  'params',
  'env',
  'secrets',
  'steps',
  'result',
  'self',
  'run',
  'phase',
  'objectives',
  'item',
  'index',
]);
