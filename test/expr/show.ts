import type { Expr } from '../../src/dsl/expr/index.js';

/** An AST as a compact S-expression, so precedence tables stay readable. */
export function show(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'string' ? `'${e.value}'` : String(e.value);
    case 'duration':
      return `${e.value}ms`;
    case 'list':
      return `[${e.items.map(show).join(' ')}]`;
    case 'ident':
      return e.name;
    case 'member':
      return `${show(e.object)}.${e.name}`;
    case 'index':
      return `${show(e.object)}[${show(e.index)}]`;
    case 'call':
      return `${e.name}(${e.args.map(show).join(' ')})`;
    case 'unary':
      return `(${e.op} ${show(e.operand)})`;
    case 'binary':
      return `(${e.op} ${show(e.left)} ${show(e.right)})`;
  }
}
