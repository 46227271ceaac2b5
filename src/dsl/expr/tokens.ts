import { createToken, Lexer, type TokenType } from './chevrotain.js';

const DIGITS = '0123456789'.split('');
// Every token says which characters it can start with, so that building the lexer at start-up does
// not parse each pattern to find out (test/dsl/expr-grammar.test.ts checks these lists).
/** What `\s` matches: ECMAScript white space and line terminators. */
export const SPACE_CHARS = [9, 10, 11, 12, 13, 32, 0xa0, 0x1680, ...Array.from({ length: 11 }, (_, i) => 0x2000 + i), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff];
export const NAME_START_CHARS = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_'];

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /\s+/, group: Lexer.SKIPPED, start_chars_hint: SPACE_CHARS });

export const StringLiteral = createToken({
  name: 'StringLiteral',
  pattern: /'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*"/,
  start_chars_hint: ["'", '"'],
  label: 'a string',
});
// Matches only when the string above could not: a quote with no closing quote.
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /['"][\s\S]*/,
  start_chars_hint: ["'", '"'],
});

// `1h30m` is one token; units largest first, as in duration.ts; no letter may follow (`5min`).
const part = (unit: string) => `(?:\\d+(?:\\.\\d+)?${unit})?`;
export const DurationLiteral = createToken({
  name: 'DurationLiteral',
  pattern: new RegExp(`(?=\\d)${part('d')}${part('h')}${part('m(?!s)')}${part('s')}${part('ms')}(?![\\w.])`),
  start_chars_hint: DIGITS,
  label: 'a duration',
});
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/,
  start_chars_hint: DIGITS,
  label: 'a number',
});
// Anything else starting with a digit (`1h30`, `5min`, `1.`): reported as one clear error.
export const BadNumber = createToken({ name: 'BadNumber', pattern: /\d[\w.]*/, start_chars_hint: DIGITS });

// `-` joins letters/digits inside a name (`stop-app`), so subtraction needs spaces.
export const Identifier = createToken({
  name: 'Identifier',
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/,
  start_chars_hint: NAME_START_CHARS,
  label: 'a name',
});
const keyword = (name: string, word: string) =>
  createToken({ name, pattern: new RegExp(word), longer_alt: Identifier, label: `'${word}'`, start_chars_hint: [word[0]] });
export const True = keyword('True', 'true');
export const False = keyword('False', 'false');
export const Null = keyword('Null', 'null');

const op = (name: string, text: string, extra: Partial<Parameters<typeof createToken>[0]> = {}) =>
  createToken({ name, pattern: text, label: `'${text}'`, ...extra });

export const Comparison = createToken({ name: 'Comparison', pattern: Lexer.NA, label: 'a comparison' });
export const AdditiveOp = createToken({ name: 'AdditiveOp', pattern: Lexer.NA });
export const MultiplicativeOp = createToken({ name: 'MultiplicativeOp', pattern: Lexer.NA });

export const In = createToken({
  name: 'In',
  pattern: /in/,
  start_chars_hint: ['i'],
  longer_alt: Identifier,
  categories: [Comparison],
  label: "'in'",
});
export const OrOp = op('OrOp', '||');
export const AndOp = op('AndOp', '&&');
export const NotEq = op('NotEq', '!=', { categories: [Comparison] });
export const Bang = op('Bang', '!');
export const EqEq = op('EqEq', '==', { categories: [Comparison] });
export const LtEq = op('LtEq', '<=', { categories: [Comparison] });
export const GtEq = op('GtEq', '>=', { categories: [Comparison] });
export const Lt = op('Lt', '<', { categories: [Comparison] });
export const Gt = op('Gt', '>', { categories: [Comparison] });
export const Plus = op('Plus', '+', { categories: [AdditiveOp] });
export const Minus = op('Minus', '-', { categories: [AdditiveOp] });
export const Star = op('Star', '*', { categories: [MultiplicativeOp] });
export const Slash = op('Slash', '/', { categories: [MultiplicativeOp] });
export const Percent = op('Percent', '%', { categories: [MultiplicativeOp] });
export const Dot = op('Dot', '.');
export const Comma = op('Comma', ',');
export const LParen = op('LParen', '(');
export const RParen = op('RParen', ')');
export const LBracket = op('LBracket', '[');
export const RBracket = op('RBracket', ']');

// Order matters: longer and more specific patterns first.
export const allTokens: TokenType[] = [
  WhiteSpace,
  StringLiteral,
  UnterminatedString,
  DurationLiteral,
  NumberLiteral,
  BadNumber,
  True,
  False,
  Null,
  In,
  Identifier,
  OrOp,
  AndOp,
  NotEq,
  EqEq,
  Bang,
  LtEq,
  GtEq,
  Lt,
  Gt,
  Plus,
  Minus,
  Star,
  Slash,
  Percent,
  Dot,
  Comma,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comparison,
  AdditiveOp,
  MultiplicativeOp,
];

/** `checked` runs chevrotain's checks of the token definitions (the grammar test does; see ExprParser). */
export const makeLexer = (checked = false) => new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: true, skipValidations: !checked });
export const lexer = makeLexer();
