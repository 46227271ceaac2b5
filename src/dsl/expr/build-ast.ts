import type { CstNode, IToken } from 'chevrotain';
import type { BinaryOp, Expr } from './ast.js';
import { ExprError } from './errors.js';
import { checkCall } from './functions.js';
import { parser } from './parser.js';
import * as T from './tokens.js';
import { parseDuration } from '../duration.js';

type Children = Record<string, (CstNode | IToken)[] | undefined>;

const nodes = (c: Children, key: string) => (c[key] ?? []) as CstNode[];
const tokens = (c: Children, key: string) => (c[key] ?? []) as IToken[];
const end = (t: IToken) => t.startOffset + t.image.length;

const BaseVisitor = parser.getBaseCstVisitorConstructor<void, Expr>();

/** Turns the CST into the small typed AST; checks function names and arity on the way. */
class AstBuilder extends BaseVisitor {
  constructor() {
    super();
    this.validateVisitor();
  }

  expression(c: Children): Expr {
    return this.visit(nodes(c, 'orExpr'));
  }
  orExpr(c: Children): Expr {
    return this.fold(c);
  }
  andExpr(c: Children): Expr {
    return this.fold(c);
  }
  comparison(c: Children): Expr {
    return this.fold(c);
  }
  additive(c: Children): Expr {
    return this.fold(c);
  }
  multiplicative(c: Children): Expr {
    return this.fold(c);
  }

  notExpr(c: Children): Expr {
    const bang = tokens(c, 'Bang')[0];
    if (!bang) return this.visit(nodes(c, 'comparison'));
    const operand = this.visit(nodes(c, 'notExpr'));
    return { kind: 'unary', op: '!', operand, start: bang.startOffset, end: operand.end };
  }

  unary(c: Children): Expr {
    const op = tokens(c, 'op')[0];
    if (!op) return this.visit(nodes(c, 'postfix'));
    const operand = this.visit(nodes(c, 'unary'));
    return { kind: 'unary', op: op.image as '!' | '-', operand, start: op.startOffset, end: operand.end };
  }

  postfix(c: Children): Expr {
    let object = this.visit(nodes(c, 'primary'));
    for (const opNode of nodes(c, 'postfixOp')) {
      const oc = opNode.children as Children;
      const name = tokens(oc, 'name')[0];
      if (name) {
        object = { kind: 'member', object, name: name.image, start: object.start, end: end(name) };
      } else {
        const index = this.visit(nodes(oc, 'index'));
        object = { kind: 'index', object, index, start: object.start, end: end(tokens(oc, 'RBracket')[0]) };
      }
    }
    return object;
  }

  postfixOp(): Expr {
    throw new Error('postfixOp is visited by postfix');
  }

  primary(c: Children): Expr {
    const lit = tokens(c, 'literal')[0];
    if (lit) return literal(lit);
    const ident = tokens(c, 'ident')[0];
    if (ident) return { kind: 'ident', name: ident.image, start: ident.startOffset, end: end(ident) };
    if (c.list) return this.visit(nodes(c, 'list'));
    if (c.call) return this.visit(nodes(c, 'call'));
    return this.visit(nodes(c, 'group'));
  }

  list(c: Children): Expr {
    const items = nodes(c, 'items').map((n) => this.visit(n));
    return { kind: 'list', items, start: tokens(c, 'LBracket')[0].startOffset, end: end(tokens(c, 'RBracket')[0]) };
  }

  call(c: Children): Expr {
    const name = tokens(c, 'name')[0];
    const args = nodes(nodes(c, 'callArgs')[0].children as Children, 'args').map((n) => this.visit(n));
    const node: Expr = { kind: 'call', name: name.image, args, start: name.startOffset, end: end(tokens(c, 'RParen')[0]) };
    checkCall(node, name.image.length);
    return node;
  }

  callArgs(): Expr {
    throw new Error('callArgs is visited by call');
  }

  // Left-associative fold of `operand (operator operand)*`.
  private fold(c: Children): Expr {
    const operands = nodes(c, 'operands').map((n) => this.visit(n));
    const operators = tokens(c, 'operators');
    let left = operands[0];
    for (let i = 0; i < operators.length; i++) {
      const right = operands[i + 1];
      left = { kind: 'binary', op: operators[i].image as BinaryOp, left, right, start: left.start, end: right.end };
    }
    return left;
  }
}

function literal(t: IToken): Expr {
  const span = { start: t.startOffset, end: end(t) };
  switch (t.tokenType) {
    case T.StringLiteral:
      return { kind: 'literal', value: unescape(t.image.slice(1, -1)), ...span };
    case T.NumberLiteral:
      return { kind: 'literal', value: Number(t.image), ...span };
    case T.DurationLiteral: {
      const ms = parseDuration(t.image);
      if (ms === undefined) throw new ExprError('EXPR_SYNTAX', `invalid duration '${t.image}'`, t.startOffset, t.image.length);
      return { kind: 'duration', value: ms, text: t.image, ...span };
    }
    case T.True:
      return { kind: 'literal', value: true, ...span };
    case T.False:
      return { kind: 'literal', value: false, ...span };
    default:
      return { kind: 'literal', value: null, ...span };
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', "'": "'", '"': '"', '\\': '\\' };

// Unknown escapes keep their backslash, so regexes read naturally: matches(x, '^\d+$').
function unescape(body: string): string {
  return body.replace(/\\([\s\S])/g, (all, ch: string) => ESCAPES[ch] ?? all);
}

export const astBuilder = new AstBuilder();
