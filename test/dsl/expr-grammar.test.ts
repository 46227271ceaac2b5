/**
 * chevrotain's own checks of the expression grammar and tokens (ambiguity, left recursion, unreachable
 * tokens, …). The process's parser and lexer skip them at start-up (src/dsl/expr/parser.ts), so they
 * run here: a grammar change that breaks one fails this test, not a user's `validate`.
 */
import { describe, expect, it } from 'vitest';
import { ExprParser, parser } from '../../src/dsl/expr/parser.js';
import { makeLexer, allTokens } from '../../src/dsl/expr/tokens.js';
import { Lexer } from '../../src/dsl/expr/chevrotain.js';

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

  it("each token's start characters are exactly those its pattern can start with", () => {
    // The lexer trusts start_chars_hint instead of analysing the patterns: a missing character would
    // make that token never match there. Checked over the whole Basic Multilingual Plane.
    for (const t of allTokens) {
      const pattern = t.PATTERN;
      if (!(pattern instanceof RegExp) || pattern === Lexer.NA) continue;
      const hint = (t as { START_CHARS_HINT?: (string | number)[] }).START_CHARS_HINT;
      expect(hint, `${t.name} has start_chars_hint`).toBeDefined();
      const first = new RegExp(`^(?:${pattern.source})`, pattern.flags.replace('y', ''));
      // A character the pattern can start with matches when followed by something that completes
      // it: nothing, a digit, a letter, a quote, a unit, or the rest of a keyword (`true`).
      const rests = ['', '0', 'a', "'", '"', 'ms', ...(/^[a-z]+$/.test(pattern.source) ? [pattern.source.slice(1)] : [])];
      const can: number[] = [];
      for (let c = 0; c < 0x10000; c++) if (rests.some((rest) => first.test(String.fromCharCode(c) + rest))) can.push(c);
      const hinted = hint!.map((h) => (typeof h === 'number' ? h : h.charCodeAt(0))).sort((a, b) => a - b);
      expect(hinted, t.name).toEqual(can);
    }
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
