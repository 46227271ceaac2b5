import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExprError, parseExpression, parseTemplate, FUNCTIONS } from '../../src/dsl/expr/index.js';

const checkOutcome = (source: string) => {
  try {
    parseExpression(source);
  } catch (e) {
    expect(e).toBeInstanceOf(ExprError);
    const err = e as ExprError;
    expect(['EXPR_SYNTAX', 'EXPR_FUNCTION']).toContain(err.code);
    expect(err.offset).toBeGreaterThanOrEqual(0);
    expect(err.offset).toBeLessThanOrEqual(source.length);
    expect(err.offset + err.length).toBeLessThanOrEqual(source.length);
    expect(err.message.length).toBeGreaterThan(0);
  }
};

const grammarTokens = [
  ...['||', '&&', '!', '==', '!=', '<', '<=', '>', '>=', 'in', '+', '-', '*', '/', '%', '.', ',', '(', ')', '[', ']'],
  ...['true', 'false', 'null', '1', '2.5', '1e3', '5m', '1h30m', '250ms', "'s'", '"d"', "'it\\'s'", "'", '"'],
  ...['steps', 'params', 'stop-app', 'a-b', 'x', '-', ' ', '=', '&', '|', '$', '{', '}', '5min', '1h30'],
  ...FUNCTIONS,
];

describe('parseExpression never fails in an unexpected way', () => {
  it('random strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), checkOutcome), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 20 }), checkOutcome), { numRuns: 500 });
  });

  it('random token soups from the grammar', () => {
    const soup = fc.array(fc.constantFrom(...grammarTokens), { maxLength: 15 }).chain((tokens) =>
      fc.array(fc.constantFrom('', ' '), { minLength: tokens.length, maxLength: tokens.length }).map((gaps) => tokens.map((t, i) => t + gaps[i]).join('')),
    );
    fc.assert(fc.property(soup, checkOutcome), { numRuns: 5000 });
  });

  it('templates around token soups', () => {
    const soup = fc.array(fc.constantFrom(...grammarTokens, '${{', '}}', 'text '), { maxLength: 12 }).map((t) => t.join(' '));
    fc.assert(
      fc.property(soup, (text) => {
        try {
          parseTemplate(text);
        } catch (e) {
          expect(e).toBeInstanceOf(ExprError);
          expect((e as ExprError).offset).toBeGreaterThanOrEqual(0);
          expect((e as ExprError).offset).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
