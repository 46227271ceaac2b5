import { describe, expect, it } from 'vitest';
import { evaluate, ExprError, parseExpression, type Scope } from '../../src/dsl/expr/index.js';

const scope: Scope = {
  params: { s: '  Hello World  ', csv: 'a,b,,c', list: [3, 1, 2], obj: { b: 1, a: 2 }, none: null, n: 42, json: '{"x":[1,2],"y":null}' },
};
const run = (source: string) => evaluate(parseExpression(source), scope);
const fail = (source: string) => {
  try {
    run(source);
  } catch (e) {
    if (e instanceof ExprError) return { code: e.code, message: e.message, offset: e.offset, length: e.length };
    throw e;
  }
  throw new Error(`expected ${source} to fail`);
};

describe('functions', () => {
  it.each([
    ["contains('abcdef', 'cd')", true],
    ["contains('abcdef', 'x')", false],
    ['contains(params.list, 2)', true],
    ["contains(params.list, '2')", false],
    ['contains([[1, 2]], [1, 2])', true],
    ["contains(params.none, 'x')", false],
    ["startsWith('postgresql/full/x', 'postgresql/')", true],
    ["startsWith('abc', 'b')", false],
    ["startsWith(params.none, 'a')", false],
    ["endsWith('backup.tar.gz', '.gz')", true],
    ["endsWith('backup.tar.gz', '.zip')", false],
    ["matches('v1.23.4', '^v\\d+\\.\\d+')", true],
    ["matches('build-17', '^\\d+$')", false],
    ["matches(params.none, '.*')", false],
    ["length('héllo')", 5],
    ['length(params.list)', 3],
    ['length(params.obj)', 2],
    ['length(params.none)', 0],
    ['length([])', 0],
    ["lower('MiXeD')", 'mixed'],
    ["upper('MiXeD')", 'MIXED'],
    ['trim(params.s)', 'Hello World'],
    ['lower(params.none)', null],
    ["split(params.csv, ',')", ['a', 'b', '', 'c']],
    ["split('abc', '')", ['a', 'b', 'c']],
    ["split(params.none, ',')", null],
    ["join(['a', 1, true, null, [2]], '|')", 'a|1|true||[2]'],
    ['join(params.list)', '3,1,2'],
    ['join([], "-")', ''],
    ['keys(params.obj)', ['b', 'a']],
    ['keys(params.none)', null],
    ['first(params.list)', 3],
    ['last(params.list)', 2],
    ['first([])', null],
    ['last(params.none)', null],
    ["default(params.none, 'fallback')", 'fallback'],
    ["default(params.missing.deeper, 'fallback')", 'fallback'],
    ["default(params.n, 'fallback')", 42],
    ['default(false, true)', false],
    ["default('', 'x')", ''],
    ['toJSON(params.obj)', '{"b":1,"a":2}'],
    ["toJSON('a\"b')", '"a\\"b"'],
    ['toJSON(null)', 'null'],
    ['fromJSON(params.json).x[1]', 2],
    ['fromJSON(params.json).y', null],
    ["fromJSON('3')", 3],
    ["duration('1h30m')", 5_400_000],
    ["duration('250ms')", 250],
    ['duration(1500)', 1500],
    ['duration(params.none)', null],
    ['format_duration(65000)', '1m 05s'],
    ['format_duration(250)', '250ms'],
    ['format_duration(1h30m)', '1h 30m'],
  ] as [string, unknown][])('%s = %j', (source, value) => {
    expect(run(source)).toEqual(value);
  });

  it('now() is the current time in ms', () => {
    const before = Date.now();
    const t = run('now()') as number;
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('default() does not evaluate the fallback when the value is present', () => {
    expect(run('default(1, 1 / 0)')).toBe(1);
    expect(fail('default(null, 1 / 0)')).toMatchObject({ code: 'EXPR_EVAL', message: 'division by zero' });
  });

  it.each([
    ["contains(5, 'x')", 'EXPR_TYPE', 'contains(): cannot look inside a number', 9, 1],
    ["contains('abc', 1)", 'EXPR_TYPE', 'contains(): a string can only contain a string, got number', 16, 1],
    ['contains(params.obj, 1)', 'EXPR_TYPE', 'contains(): object keys are strings, got number', 21, 1],
    ["startsWith(1, 'a')", 'EXPR_TYPE', 'startsWith() expects a string as argument 1, got number', 11, 1],
    ["endsWith('a', null)", 'EXPR_TYPE', 'endsWith() expects a string as argument 2, got null', 14, 4],
    ["matches('a', '(')", 'EXPR_EVAL', 'matches(): invalid regular expression: Invalid regular expression: /(/: Unterminated group', 13, 3],
    ['length(5)', 'EXPR_TYPE', 'length() expects a string, list or object as argument 1, got number', 7, 1],
    ['upper([1])', 'EXPR_TYPE', 'upper() expects a string as argument 1, got list', 6, 3],
    ["split('a', 1)", 'EXPR_TYPE', 'split() expects a string as argument 2, got number', 11, 1],
    ["join('abc', ',')", 'EXPR_TYPE', 'join() expects a list as argument 1, got string', 5, 5],
    ['keys(params.list)', 'EXPR_TYPE', 'keys() expects an object as argument 1, got list', 5, 11],
    ["first('abc')", 'EXPR_TYPE', 'first() expects a list as argument 1, got string', 6, 5],
    ["duration('5 minutes')", 'EXPR_EVAL', "duration(): invalid duration '5 minutes' (e.g. 250ms, 30s, 5m, 1h30m)", 9, 11],
    ["format_duration('5m')", 'EXPR_TYPE', 'format_duration() expects a number as argument 1, got string', 16, 4],
  ])('%s → %s %s', (source, code, message, offset, length) => {
    expect(fail(source)).toEqual({ code, message, offset, length });
  });

  it('fromJSON() of invalid JSON is an evaluation error at its argument', () => {
    // The tail of the message is V8's own and differs between Node versions.
    expect(fail("fromJSON('{x')")).toMatchObject({ code: 'EXPR_EVAL', message: expect.stringMatching(/^fromJSON\(\): invalid JSON: /), offset: 9, length: 4 });
  });
});
