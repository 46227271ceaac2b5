/**
 * chevrotain's own checks of the expression grammar and tokens (ambiguity, left recursion, unreachable
 * tokens, …). The process's parser and lexer skip them at start-up (src/dsl/expr/parser.ts), so they
 * run here: a grammar change that breaks one fails this test, not a user's `validate`.
 */
import { describe, expect, it } from 'vitest';
import { ExprParser, parser } from '../../src/dsl/expr/parser.js';
import { makeLexer, allTokens } from '../../src/dsl/expr/tokens.js';

describe('the expression grammar passes chevrotain’s checks', () => {
  it('the parser, built with its checks, reports no definition error', () => {
    // performSelfAnalysis throws on a definition error when the checks are on.
    const checked = new ExprParser(true) as unknown as { definitionErrors: unknown[] };
    expect(checked.definitionErrors).toEqual([]);
  });

  it('the lexer, built with its checks, reports no definition error', () => {
    expect(makeLexer(true).lexerDefinitionErrors).toEqual([]);
    expect(allTokens.length).toBeGreaterThan(10);
  });

  it('the unchecked parser the process uses builds the same trees as the checked one', () => {
    const checked = new ExprParser(true);
    const lexer = makeLexer(true);
    const cst = (p: ExprParser, text: string) => {
      p.input = lexer.tokenize(text).tokens;
      const tree = p.expression();
      return { tree: JSON.stringify(tree), errors: p.errors.map((e) => e.message) };
    };
    for (const text of ["steps.a.status == 'succeeded' && length(params.x) > 2 || !false", 'a.b[1].c * -2 % 3', "x in ['a', 'b']", '1 < 2 < 3', 'f(']) {
      expect(cst(parser, text)).toEqual(cst(checked, text));
    }
  });
});
