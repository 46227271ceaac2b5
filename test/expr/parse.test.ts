import { describe, expect, it } from 'vitest';
import { ExprError, FUNCTIONS, parseExpression, references } from '../../src/dsl/expr/index.js';
import { show } from './show.js';

const syntaxError = (source: string) => {
  try {
    parseExpression(source);
  } catch (e) {
    if (e instanceof ExprError) return { code: e.code, offset: e.offset, length: e.length, message: e.message };
    throw e;
  }
  throw new Error(`expected ${source} to fail`);
};

describe('precedence', () => {
  it.each([
    ['1 + 2 * 3', '(+ 1 (* 2 3))'],
    ['1 * 2 + 3', '(+ (* 1 2) 3)'],
    ['(1 + 2) * 3', '(* (+ 1 2) 3)'],
    ['1 - 2 - 3', '(- (- 1 2) 3)'],
    ['8 / 4 / 2', '(/ (/ 8 4) 2)'],
    ['7 % 4 * 2', '(* (% 7 4) 2)'],
    ['a || b && c', '(|| a (&& b c))'],
    ['a && b || c', '(|| (&& a b) c)'],
    ['a || b || c', '(|| (|| a b) c)'],
    ['!a && b', '(&& (! a) b)'],
    ['!a == b', '(! (== a b))'],
    ['!!a', '(! (! a))'],
    ['a == !b', '(== a (! b))'],
    ['a == b && c != d', '(&& (== a b) (!= c d))'],
    ['1 + 2 < 3 * 4', '(< (+ 1 2) (* 3 4))'],
    ["'x' in a + b", "(in 'x' (+ a b))"],
    ['a + b == c - d', '(== (+ a b) (- c d))'],
    ['-a * b', '(* (- a) b)'],
    ['- -a', '(- (- a))'],
    ['-a.b', '(- a.b)'],
    ['-2 + 3', '(+ (- 2) 3)'],
    ['a.b.c[0].d', 'a.b.c[0].d'],
    ["a['b'][c + 1]", "a['b'][(+ c 1)]"],
    ['length(a.b) > 2 || x', '(|| (> length(a.b) 2) x)'],
    ['contains([1, 2], 1 + 1)', 'contains([1 2] (+ 1 1))'],
    ['[]', '[]'],
    ['(((1)))', '1'],
    ['now()', 'now()'],
    ['a <= b', '(<= a b)'],
    ['a >= b', '(>= a b)'],
    ['a > b', '(> a b)'],
    ['true && false || null', '(|| (&& true false) null)'],
  ])('%s → %s', (source, expected) => {
    expect(show(parseExpression(source))).toBe(expected);
  });
});

describe('hyphenated identifiers vs subtraction', () => {
  it.each([
    ['steps.stop-app.status', 'steps.stop-app.status'],
    ['a-b', 'a-b'],
    ['a - b', '(- a b)'],
    ['a -b', '(- a b)'],
    ['a- b', '(- a b)'],
    ['index-1', 'index-1'],
    ['index - 1', '(- index 1)'],
    ['steps.db-2-restore.outputs.lag-ms', 'steps.db-2-restore.outputs.lag-ms'],
    ['steps.a--b', '(- steps.a (- b))'],
  ])('%s → %s', (source, expected) => {
    expect(show(parseExpression(source))).toBe(expected);
  });

  it('keywords are names after a dot, and prefixes of names stay names', () => {
    expect(show(parseExpression('steps.in.outputs.null'))).toBe('steps.in.outputs.null');
    expect(show(parseExpression('steps.true-up.status'))).toBe('steps.true-up.status');
    expect(show(parseExpression('index in items'))).toBe('(in index items)');
    expect(show(parseExpression('nullable'))).toBe('nullable');
  });
});

describe('literals', () => {
  it('parses strings with escapes', () => {
    expect(parseExpression(String.raw`'it\'s\n\t\\ "ok"'`)).toMatchObject({ kind: 'literal', value: 'it\'s\n\t\\ "ok"' });
    expect(parseExpression(String.raw`"say \"hi\""`)).toMatchObject({ kind: 'literal', value: 'say "hi"' });
    // Unknown escapes keep the backslash, for regexes.
    expect(parseExpression(String.raw`'^\d+$'`)).toMatchObject({ value: String.raw`^\d+$` });
  });

  it('parses numbers, booleans, null and lists', () => {
    expect(parseExpression('42')).toMatchObject({ kind: 'literal', value: 42 });
    expect(parseExpression('1.5')).toMatchObject({ kind: 'literal', value: 1.5 });
    expect(parseExpression('1e3')).toMatchObject({ kind: 'literal', value: 1000 });
    expect(parseExpression('true')).toMatchObject({ kind: 'literal', value: true });
    expect(parseExpression('false')).toMatchObject({ kind: 'literal', value: false });
    expect(parseExpression('null')).toMatchObject({ kind: 'literal', value: null });
    expect(parseExpression("[1, 'a', [true]]")).toMatchObject({
      kind: 'list',
      items: [{ value: 1 }, { value: 'a' }, { kind: 'list', items: [{ value: true }] }],
      start: 0,
      end: 16,
    });
  });

  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    ['1h30m15s500ms', 5_415_500],
  ])('duration %s is %d ms, one token', (source, ms) => {
    expect(parseExpression(source)).toEqual({ kind: 'duration', value: ms, text: source, start: 0, end: source.length });
  });

  it('durations combine with operators', () => {
    expect(show(parseExpression('phase.elapsed > 1h30m - 5m'))).toBe('(> phase.elapsed (- 5400000ms 300000ms))');
  });
});

describe('node positions', () => {
  it('records start/end of every node', () => {
    const e = parseExpression("  steps.a.x == 'y'");
    expect(e).toMatchObject({
      kind: 'binary',
      start: 2,
      end: 18,
      left: { kind: 'member', name: 'x', start: 2, end: 11, object: { kind: 'member', start: 2, end: 9, object: { kind: 'ident', start: 2, end: 7 } } },
      right: { kind: 'literal', start: 15, end: 18 },
    });
    expect(parseExpression('length(x)')).toMatchObject({ kind: 'call', start: 0, end: 9, args: [{ start: 7, end: 8 }] });
    expect(parseExpression('a[b + 1]')).toMatchObject({ kind: 'index', start: 0, end: 8, index: { start: 2, end: 7 } });
    expect(parseExpression('!x')).toMatchObject({ kind: 'unary', start: 0, end: 2, operand: { start: 1, end: 2 } });
  });
});

describe('syntax errors with exact offsets', () => {
  it.each([
    ['a + )', 4, 1, "unexpected ')' — expected an expression"],
    ['a ||', 4, 0, 'unexpected end of input — expected an expression'],
    ['', 0, 0, 'empty expression'],
    ['(1 + 2', 6, 0, "unexpected end of input — expected ')'"],
    ['1 + 2)', 5, 1, "unexpected ')' — no matching '('"],
    ['[1 2]', 3, 1, "unexpected '2' — expected ',' or ']'"],
    ['length(x', 8, 0, "unexpected end of input — expected ',' or ')'"],
    ['a b', 2, 1, "unexpected 'b' — expected an operator or end of expression"],
    ['1 < 2 < 3', 6, 1, "unexpected '<' — expected an operator or end of expression (comparisons cannot be chained; join them with &&)"],
    ['x = 1', 2, 1, "unexpected character '=' — use '==' to compare"],
    ['a & b', 2, 1, "unexpected character '&' — use '&&'"],
    ['a | b', 2, 1, "unexpected character '|' — use '||'"],
    ["'abc", 0, 4, "unterminated string — missing closing '"],
    ['x == "abc', 5, 4, 'unterminated string — missing closing "'],
    ['5min', 0, 4, "invalid number or duration '5min' (durations look like 250ms, 30s, 5m, 1h30m)"],
    ['x > 1h30', 4, 4, "invalid number or duration '1h30' (durations look like 250ms, 30s, 5m, 1h30m)"],
    ['30m1h', 0, 5, "invalid number or duration '30m1h' (durations look like 250ms, 30s, 5m, 1h30m)"],
    ['a.', 2, 0, 'unexpected end of input — expected a name'],
    ['a.1', 2, 1, "unexpected '1' — expected a name"],
    ['a[]', 2, 1, "unexpected ']' — expected an expression"],
    ['steps.x == ${{ y }}', 11, 1, "unexpected character '$' — '${{ }}' must wrap the whole expression"],
    ['a # comment', 2, 1, "unexpected character '#'"],
  ] as const)('%j → offset %d', (source, offset, length, message) => {
    expect(syntaxError(source)).toEqual({ code: 'EXPR_SYNTAX', offset, length, message });
  });

  it('reports unknown functions and wrong arity at parse time', () => {
    expect(syntaxError('x && lenght(y)')).toEqual({
      code: 'EXPR_FUNCTION',
      offset: 5,
      length: 6,
      message: "unknown function 'lenght' (did you mean 'length'?)",
    });
    expect(syntaxError('startswith(a, b)').message).toBe("unknown function 'startswith' (did you mean 'startsWith'?)");
    expect(syntaxError('frobnicate(1)').message).toBe("unknown function 'frobnicate'");
    expect(syntaxError('toString(1)').message).toBe("unknown function 'toString'");
    expect(syntaxError('1 + contains(a)')).toEqual({ code: 'EXPR_FUNCTION', offset: 4, length: 11, message: 'contains() takes 2 arguments, got 1' });
    expect(syntaxError('now(1)').message).toBe('now() takes 0 arguments, got 1');
    expect(syntaxError('join()').message).toBe('join() takes 1 or 2 arguments, got 0');
  });

  it('lists every function of the spec', () => {
    expect([...FUNCTIONS].sort()).toEqual(
      ['contains', 'startsWith', 'endsWith', 'matches', 'length', 'lower', 'upper', 'trim', 'split', 'join', 'keys', 'first', 'last', 'default', 'toJSON', 'fromJSON', 'duration', 'format_duration', 'now'].sort(),
    );
  });
});

describe('parse cache', () => {
  it('returns the same frozen AST for the same text, and the same error', () => {
    const a = parseExpression('steps.x.outputs.y + 1');
    expect(parseExpression('steps.x.outputs.y + 1')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(syntaxError('1 +')).toEqual(syntaxError('1 +'));
  });

  it('parses 10,000 distinct small expressions', () => {
    let nodes = 0;
    for (let i = 0; i < 10_000; i++) {
      const e = parseExpression(`steps.s${i}.outputs.count + ${i} > 3 && contains(params.list, 'v${i}')`);
      if (e.kind === 'binary') nodes++;
    }
    expect(nodes).toBe(10_000);
  });
});

describe('references', () => {
  it('lists each root chain with its span', () => {
    const source = "steps.stop-app.outputs.x == params.target && length(env.HOME) > 0";
    expect(references(parseExpression(source))).toEqual([
      { path: ['steps', 'stop-app', 'outputs', 'x'], start: 0, end: 24 },
      { path: ['params', 'target'], start: 28, end: 41 },
      { path: ['env', 'HOME'], start: 52, end: 60 },
    ]);
  });

  it('includes literal indexes as strings and ends at a computed index with null', () => {
    const refs = references(parseExpression("steps['a-b'].result.rows[0].id + item[index].x"));
    expect(refs).toEqual([
      { path: ['steps', 'a-b', 'result', 'rows', '0', 'id'], start: 0, end: 30 },
      { path: ['item', null], start: 33, end: 44 },
      { path: ['index'], start: 38, end: 43 },
    ]);
  });

  it('finds chains inside calls, lists and under non-root bases', () => {
    const refs = references(parseExpression('fromJSON(result.stdout).items[run.id] == [self.status, 1]'));
    expect(refs.map((r) => r.path)).toEqual([['result', 'stdout'], ['run', 'id'], ['self', 'status']]);
    expect(references(parseExpression("'a' + 1"))).toEqual([]);
  });
});
