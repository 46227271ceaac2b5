export type ExprErrorCode = 'EXPR_SYNTAX' | 'EXPR_EVAL' | 'EXPR_TYPE' | 'EXPR_FUNCTION' | 'SHELL_QUOTE';

/**
 * A problem in one expression. `offset`/`length` are relative to the expression's source (or to the
 * template string for template functions); the caller adds where that text starts in the file.
 */
export class ExprError extends Error {
  readonly code: ExprErrorCode;
  readonly offset: number;
  readonly length: number;

  constructor(code: ExprErrorCode, message: string, offset: number, length = 0) {
    super(message);
    this.name = 'ExprError';
    this.code = code;
    this.offset = offset;
    this.length = length;
  }

  /** The same error with its position moved by `delta` (e.g. into the enclosing template). */
  shift(delta: number): ExprError {
    return delta === 0 ? this : new ExprError(this.code, this.message, this.offset + delta, this.length);
  }
}

/** An error pointing at a node's whole span. */
export function errorAt(code: ExprErrorCode, message: string, node: { start: number; end: number }): ExprError {
  return new ExprError(code, message, node.start, node.end - node.start);
}
