import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from './chevrotain.js';
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

/**
 * The grammar, loosest first (spec §3): `||`, `&&`, `!`, comparisons and `in`, `+ -`, `* / %`,
 * unary `-`/`!`, postfix `.name` `[expr]`, primaries. Comparisons do not chain (`a < b < c` is an
 * error). `!` binds loosely at the start of an operand (`!a == b` is `!(a == b)`, as the spec orders
 * it) and tightly after an operator (`a == !b`).
 */
export class ExprParser extends CstParser {
  /**
   * `checked` runs chevrotain's checks of the grammar itself (ambiguities, left recursion, missing
   * rules): test/dsl/expr-grammar.test.ts builds the parser so. The grammar is fixed at build time, so
   * the process's own parser skips them: they were a third of `validate`'s start-up (docs/startup.md).
   */
  constructor(checked = false) {
    super(T.allTokens, { errorMessageProvider: messages, maxLookahead: 2, skipValidations: !checked });
    this.performSelfAnalysis();
  }

  expression = this.RULE('expression', () => {
    this.SUBRULE(this.orExpr);
  });

  orExpr = this.RULE('orExpr', () => {
    this.SUBRULE(this.andExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.OrOp, { LABEL: 'operators' });
      this.SUBRULE2(this.andExpr, { LABEL: 'operands' });
    });
  });

  andExpr = this.RULE('andExpr', () => {
    this.SUBRULE(this.notExpr, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.AndOp, { LABEL: 'operators' });
      this.SUBRULE2(this.notExpr, { LABEL: 'operands' });
    });
  });

  notExpr = this.RULE('notExpr', () => {
    this.OR({
      // The first alternative wins: a leading `!` negates the whole comparison.
      IGNORE_AMBIGUITIES: true,
      DEF: [
        {
          ALT: () => {
            this.CONSUME(T.Bang);
            this.SUBRULE(this.notExpr);
          },
        },
        { ALT: () => this.SUBRULE(this.comparison) },
      ],
    });
  });

  comparison = this.RULE('comparison', () => {
    this.SUBRULE(this.additive, { LABEL: 'operands' });
    this.OPTION(() => {
      this.CONSUME(T.Comparison, { LABEL: 'operators' });
      this.SUBRULE2(this.additive, { LABEL: 'operands' });
    });
  });

  additive = this.RULE('additive', () => {
    this.SUBRULE(this.multiplicative, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.AdditiveOp, { LABEL: 'operators' });
      this.SUBRULE2(this.multiplicative, { LABEL: 'operands' });
    });
  });

  multiplicative = this.RULE('multiplicative', () => {
    this.SUBRULE(this.unary, { LABEL: 'operands' });
    this.MANY(() => {
      this.CONSUME(T.MultiplicativeOp, { LABEL: 'operators' });
      this.SUBRULE2(this.unary, { LABEL: 'operands' });
    });
  });

  unary = this.RULE('unary', () => {
    this.OR([
      {
        ALT: () => {
          this.OR2([{ ALT: () => this.CONSUME(T.Minus, { LABEL: 'op' }) }, { ALT: () => this.CONSUME(T.Bang, { LABEL: 'op' }) }]);
          this.SUBRULE(this.unary);
        },
      },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  postfix = this.RULE('postfix', () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.SUBRULE(this.postfixOp));
  });

  postfixOp = this.RULE('postfixOp', () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Dot);
          // Step ids like `in` or `null` are valid, so keywords are member names too.
          this.OR2([
            { ALT: () => this.CONSUME(T.Identifier, { LABEL: 'name' }) },
            { ALT: () => this.CONSUME(T.In, { LABEL: 'name' }) },
            { ALT: () => this.CONSUME(T.True, { LABEL: 'name' }) },
            { ALT: () => this.CONSUME(T.False, { LABEL: 'name' }) },
            { ALT: () => this.CONSUME(T.Null, { LABEL: 'name' }) },
          ]);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.SUBRULE(this.expression, { LABEL: 'index' });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });

  primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(T.StringLiteral, { LABEL: 'literal' }) },
      { ALT: () => this.CONSUME(T.NumberLiteral, { LABEL: 'literal' }) },
      { ALT: () => this.CONSUME(T.DurationLiteral, { LABEL: 'literal' }) },
      { ALT: () => this.CONSUME(T.True, { LABEL: 'literal' }) },
      { ALT: () => this.CONSUME(T.False, { LABEL: 'literal' }) },
      { ALT: () => this.CONSUME(T.Null, { LABEL: 'literal' }) },
      { ALT: () => this.SUBRULE(this.list) },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.CONSUME(T.Identifier, { LABEL: 'ident' }) },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          this.SUBRULE(this.expression, { LABEL: 'group' });
          this.CONSUME(T.RParen);
        },
      },
    ]);
  });

  list = this.RULE('list', () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: 'items' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression, { LABEL: 'items' });
      });
    });
    this.CONSUME(T.RBracket);
  });

  call = this.RULE('call', () => {
    this.CONSUME(T.Identifier, { LABEL: 'name' });
    this.CONSUME(T.LParen);
    this.SUBRULE(this.callArgs);
    this.CONSUME(T.RParen);
  });

  callArgs = this.RULE('callArgs', () => {
    this.OPTION(() => {
      this.SUBRULE(this.expression, { LABEL: 'args' });
      this.MANY(() => {
        this.CONSUME(T.Comma);
        this.SUBRULE2(this.expression, { LABEL: 'args' });
      });
    });
  });
}

/** One parser for the process: chevrotain parsers are reusable by resetting `input`. */
export const parser = new ExprParser();
