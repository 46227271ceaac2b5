import { EmbeddedActionsParser, EOF, type IOrAlt, type IParserErrorMessageProvider, type IToken, type OrMethodOpts, type ParserMethod, type TokenType } from './chevrotain.js';
import type { Expr } from './ast.js';
import { binary, call, end, index, literal, member, unary } from './build-ast.js';
import * as T from './tokens.js';

/** How a token reads in an error message: `')'`, `'foo'`, `end of input`. */
export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return 'end of input';
  const text = token.image.length > 20 ? `${token.image.slice(0, 20)}…` : token.image;
  return `'${text}'`;
}

const expectation = (t: TokenType) => (t === EOF ? 'end of expression' : (t.LABEL ?? t.name));

// Messages are composed here; parse.ts adds the offset. Every message reads "unexpected X — expected Y".
const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    let want = expectation(expected);
    if (ruleName === 'list' && expected === T.RBracket) want = "',' or ']'";
    if (ruleName === 'call' && expected === T.RParen) want = "',' or ')'";
    return `unexpected ${describeToken(actual)} — expected ${want}${chainHint(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    const t = firstRedundant.tokenType;
    if (t === T.RParen || t === T.RBracket) {
      return `unexpected ${describeToken(firstRedundant)} — no matching '${t === T.RParen ? '(' : '['}'`;
    }
    return `unexpected ${describeToken(firstRedundant)} — expected an operator or end of expression${chainHint(firstRedundant)}`;
  },
  buildNoViableAltMessage({ actual, ruleName }) {
    const want = ruleName === 'postfixOp' ? 'a name' : 'an expression';
    return `unexpected ${describeToken(actual[0])} — expected ${want}`;
  },
  buildEarlyExitMessage({ actual }) {
    return `unexpected ${describeToken(actual[0])} — expected an expression`;
  },
};

function chainHint(token: IToken): string {
  return T.Comparison.categoryMatchesMap?.[token.tokenTypeIdx] || token.tokenType === T.In
    ? ' (comparisons cannot be chained; join them with &&)'
    : '';
}

/** A postfix operator as postfixOp parses it: `.name`, or `[index]` with its closing bracket. */
type PostfixOp = { name?: IToken; index?: Expr; close?: IToken };

/**
 * The grammar, loosest first (spec §3): `||`, `&&`, `!`, comparisons and `in`, `+ -`, `* / %`,
 * unary `-`/`!`, postfix `.name` `[expr]`, primaries. Comparisons do not chain (`a < b < c` is an
 * error). `!` binds loosely at the start of an operand (`!a == b` is `!(a == b)`, as the spec orders
 * it) and tightly after an operator (`a == !b`).
 *
 * Each rule builds its AST node as it parses (chevrotain's embedded actions): no concrete syntax
 * tree is made and walked again, which was half of parsing an expression when the code is cold
 * (docs/startup.md). The checks that can fail on a well-formed text (a function's name and arity, a
 * duration's value) wait until the whole text has parsed, so a syntax error is still reported first.
 */
export class ExprParser extends EmbeddedActionsParser {
  /** Checks of the nodes built so far, run by parse() once the text is known to be well-formed. */
  private checks: (() => void)[] = [];

  /**
   * `checked` runs chevrotain's checks of the grammar itself (ambiguities, left recursion, missing
   * rules): test/dsl/expr-grammar.test.ts builds the parser so. The grammar is fixed at build time, so
   * the process's own parser skips them: they were a third of `validate`'s start-up (docs/startup.md).
   */
  constructor(checked = false) {
    super(T.allTokens, { errorMessageProvider: messages, maxLookahead: 2, skipValidations: !checked });
    this.performSelfAnalysis();
  }

  /**
   * The AST of `tokens`, or undefined with `errors` set on a syntax error. Throws the ExprError of
   * the first failed check (unknown function, wrong number of arguments, invalid duration).
   */
  parse(tokens: IToken[]): Expr | undefined {
    this.input = tokens;
    this.checks = [];
    const expr = this.expression();
    if (this.errors.length) return undefined;
    for (const check of this.checks) check();
    return expr;
  }

  /** Defers a check to parse()'s end (never run while chevrotain records the grammar). */
  private check(fn: () => void): void {
    this.ACTION(() => this.checks.push(fn));
  }

  /**
   * `operand (op operand)*`, folded to the left: the shape of `||`, `&&`, `+ -` and `* / %`. Called
   * inside a rule, its DSL calls are that rule's (chevrotain records them against the rule running).
   */
  private leftFold(operand: ParserMethod<[], Expr>, op: TokenType): Expr {
    let left = this.SUBRULE(operand);
    this.MANY(() => {
      const token = this.CONSUME(op);
      left = binary(left, token, this.SUBRULE2(operand));
    });
    return left;
  }

  expression = this.RULE('expression', (): Expr => this.SUBRULE(this.orExpr));

  orExpr = this.RULE('orExpr', (): Expr => this.leftFold(this.andExpr, T.OrOp));

  andExpr = this.RULE('andExpr', (): Expr => this.leftFold(this.notExpr, T.AndOp));

  // The alternatives of each OR are made once, here: an array literal inside a rule is built again,
  // closures and all, at every invocation (chevrotain's performance guide; ten of them for each
  // primary). They take nothing from the invocation but `this`.
  private readonly notAlts: OrMethodOpts<Expr> = {
    // The first alternative wins: a leading `!` negates the whole comparison.
    IGNORE_AMBIGUITIES: true,
    DEF: [
      {
        ALT: () => {
          const bang = this.CONSUME(T.Bang);
          return unary(bang, this.SUBRULE(this.notExpr));
        },
      },
      { ALT: () => this.SUBRULE(this.comparison) },
    ],
  };

  notExpr = this.RULE('notExpr', (): Expr => this.OR(this.notAlts));

  comparison = this.RULE('comparison', (): Expr => {
    let left = this.SUBRULE(this.additive);
    this.OPTION(() => {
      const op = this.CONSUME(T.Comparison);
      left = binary(left, op, this.SUBRULE2(this.additive));
    });
    return left;
  });

  additive = this.RULE('additive', (): Expr => this.leftFold(this.multiplicative, T.AdditiveOp));

  multiplicative = this.RULE('multiplicative', (): Expr => this.leftFold(this.unary, T.MultiplicativeOp));

  private readonly signAlts: IOrAlt<IToken>[] = [{ ALT: () => this.CONSUME(T.Minus) }, { ALT: () => this.CONSUME(T.Bang) }];
  private readonly unaryAlts: IOrAlt<Expr>[] = [
    {
      ALT: () => {
        const op = this.OR2(this.signAlts);
        return unary(op, this.SUBRULE(this.unary));
      },
    },
    { ALT: () => this.SUBRULE(this.postfix) },
  ];

  unary = this.RULE('unary', (): Expr => this.OR(this.unaryAlts));

  postfix = this.RULE('postfix', (): Expr => {
    let object = this.SUBRULE(this.primary);
    this.MANY(() => {
      const op = this.SUBRULE(this.postfixOp);
      // While chevrotain records the grammar, `op` is a placeholder with no tokens in it.
      object = this.ACTION(() => (op.name ? member(object, op.name) : index(object, op.index!, op.close!)));
    });
    return object;
  });

  // Step ids like `in` or `null` are valid, so keywords are member names too.
  private readonly memberNameAlts: IOrAlt<IToken>[] = [
    { ALT: () => this.CONSUME(T.Identifier) },
    { ALT: () => this.CONSUME(T.In) },
    { ALT: () => this.CONSUME(T.True) },
    { ALT: () => this.CONSUME(T.False) },
    { ALT: () => this.CONSUME(T.Null) },
  ];
  private readonly postfixOpAlts: IOrAlt<PostfixOp>[] = [
    {
      ALT: () => {
        this.CONSUME(T.Dot);
        return { name: this.OR2(this.memberNameAlts) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.LBracket);
        const index = this.SUBRULE(this.expression);
        return { index, close: this.CONSUME(T.RBracket) };
      },
    },
  ];

  /** `.name` or `[expr]`, applied by postfix to what it follows. */
  postfixOp = this.RULE('postfixOp', (): PostfixOp => this.OR(this.postfixOpAlts));

  private readonly primaryAlts: IOrAlt<Expr>[] = [
    { ALT: () => this.literal(this.CONSUME(T.StringLiteral)) },
    { ALT: () => this.literal(this.CONSUME(T.NumberLiteral)) },
    { ALT: () => this.literal(this.CONSUME(T.DurationLiteral)) },
    { ALT: () => this.literal(this.CONSUME(T.True)) },
    { ALT: () => this.literal(this.CONSUME(T.False)) },
    { ALT: () => this.literal(this.CONSUME(T.Null)) },
    { ALT: () => this.SUBRULE(this.list) },
    { ALT: () => this.SUBRULE(this.call) },
    {
      ALT: () => {
        const ident = this.CONSUME(T.Identifier);
        return { kind: 'ident', name: ident.image, start: ident.startOffset, end: end(ident) };
      },
    },
    {
      ALT: () => {
        this.CONSUME(T.LParen);
        const group = this.SUBRULE(this.expression);
        this.CONSUME(T.RParen);
        return group;
      },
    },
  ];

  primary = this.RULE('primary', (): Expr => this.OR(this.primaryAlts));

  list = this.RULE('list', (): Expr => {
    const open = this.CONSUME(T.LBracket);
    const items: Expr[] = [];
    this.OPTION(() => {
      items.push(this.SUBRULE(this.expression));
      this.MANY(() => {
        this.CONSUME(T.Comma);
        items.push(this.SUBRULE2(this.expression));
      });
    });
    const close = this.CONSUME(T.RBracket);
    return { kind: 'list', items, start: open.startOffset, end: end(close) };
  });

  call = this.RULE('call', (): Expr => {
    const name = this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    const args = this.SUBRULE(this.callArgs);
    const node = call(name, args, this.CONSUME(T.RParen));
    this.check(() => node.check());
    return node.expr;
  });

  callArgs = this.RULE('callArgs', (): Expr[] => {
    const args: Expr[] = [];
    this.OPTION(() => {
      args.push(this.SUBRULE(this.expression));
      this.MANY(() => {
        this.CONSUME(T.Comma);
        args.push(this.SUBRULE2(this.expression));
      });
    });
    return args;
  });

  /** A literal's node; an invalid duration's error waits for the end of the parse. */
  private literal(t: IToken): Expr {
    const { expr, check } = literal(t);
    if (check) this.check(check);
    return expr;
  }
}

/** One parser for the process: chevrotain parsers are reusable by resetting `input`. */
export const parser = new ExprParser();
