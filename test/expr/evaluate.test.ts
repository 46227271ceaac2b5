import { describe, expect, it } from 'vitest';
import { evaluate, ExprError, parseExpression, UNKNOWN, type Scope } from '../../src/dsl/expr/index.js';

const scope: Scope = {
  params: { target: 'staging', force: false, count: 3, tags: ['a', 'b'], nothing: null },
  env: { HOME: '/root' },
  secrets: {},
  steps: {
    'stop-app': { status: 'succeeded', outputs: { x: 1, list: [10, 20, 30] }, result: { json: { ok: true, nested: { v: 'deep' } } } },
    skipped: { status: 'skipped', outputs: {}, result: null },
  },
  run: { id: 'r1', dry_run: false, elapsed: 90_000 },
  item: 'x',
  index: 4,
};

const run = (source: string, s: Scope = scope) => evaluate(parseExpression(source), s);
const fail = (source: string, s: Scope = scope) => {
  try {
    run(source, s);
  } catch (e) {
    if (e instanceof ExprError) return { code: e.code, message: e.message, offset: e.offset, length: e.length };
    throw e;
  }
  throw new Error(`expected ${source} to fail`);
};

describe('arithmetic and precedence at run time', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['2 * 3 % 4', 2],
    ['7 / 2', 3.5],
    ['-2 * -3', 6],
    ['- params.count', -3],
    ['index - 1', 3],
    ['5m + 30s', 330_000],
    ['run.elapsed > 1m', true],
    ["'a' + 'b'", 'ab'],
    ['[1] + [2, 3]', [1, 2, 3]],
    ['!false && true', true],
    ['!(1 == 1) || 2 > 1', true],
    ['!params.force == true', true],
    ["params.target == 'staging' && !params.force", true],
    ["'b' < 'c'", true],
    ['2 <= 2', true],
    ['3 >= 4', false],
  ])('%s = %j', (source, value) => {
    expect(run(source)).toEqual(value);
  });
});

describe('no implicit coercion', () => {
  it.each([
    ["1 == '1'", false],
    ["1 != '1'", true],
    ['0 == false', false],
    ["'' == null", false],
    ['null == false', false],
    ['null == null', true],
    ['[1, [2]] == [1, [2]]', true],
    ['[1, 2] == [2, 1]', false],
    ['steps.stop-app.result.json == fromJSON(\'{"nested":{"v":"deep"},"ok":true}\')', true],
    ["fromJSON('{\"a\":1}') == fromJSON('{\"a\":1,\"b\":2}')", false],
  ])('%s is %j', (source, value) => {
    expect(run(source)).toBe(value);
  });

  it.each([
    ['[1] < 2', 'cannot compare list with number', 0, 7],
    ["1 < '2'", 'cannot compare number with string', 0, 7],
    ['null > 1', 'cannot compare null with number', 0, 8],
    ["1 + '1'", 'cannot add number and string', 0, 7],
    ['null + 1', 'cannot add null and number', 0, 8],
    ["'a' - 'b'", 'cannot subtract string and string', 0, 9],
    ['true * 2', 'cannot multiply boolean and number', 0, 8],
    ["-'a'", 'cannot negate a string', 1, 3],
    ['1 && true', 'expected a boolean, got number', 0, 1],
    ["true && 'yes'", 'expected a boolean, got string', 8, 5],
    ['false || [1]', 'expected a boolean, got list', 9, 3],
    ['!params.count', 'expected a boolean, got number', 1, 12],
    ['params.count.x', "cannot read '.x' of a number", 0, 14],
    ['params.tags.length', "cannot read '.length' of a list", 0, 18],
    ["params.tags['0']", 'a list index must be a whole number, got string', 12, 3],
    ['params.tags[0.5]', 'a list index must be a whole number, got number', 12, 3],
    ['params[0]', 'an object key must be a string, got number', 7, 1],
    ['true[0]', 'cannot index a boolean', 0, 7],
    ["1 in 'abc'", "'in': a string can only contain a string, got number", 0, 10],
    ['1 in 5', "'in': cannot look inside a number", 0, 6],
  ])('%s → EXPR_TYPE %s', (source, message, offset, length) => {
    expect(fail(source)).toEqual({ code: 'EXPR_TYPE', message, offset, length });
  });

  it('division by zero and overflow are evaluation errors', () => {
    expect(fail('params.count / 0')).toEqual({ code: 'EXPR_EVAL', message: 'division by zero', offset: 15, length: 1 });
    expect(fail('5 % (2 - 2)')).toMatchObject({ code: 'EXPR_EVAL', message: 'division by zero', offset: 5 });
    expect(fail('1e308 * 10')).toMatchObject({ code: 'EXPR_EVAL', message: 'result is too large to be a number' });
  });
});

describe('in', () => {
  it.each([
    ["'a' in params.tags", true],
    ["'c' in params.tags", false],
    ['[1] in [[1], [2]]', true],
    ["'prod' in 'staging'", false],
    ["'x' in ''", false],
    ["'' in 'abc'", true],
    ["'ag' in 'staging'", true],
    ["'target' in params", true],
    ["'toString' in params", false],
    ["'x' in params.nothing", false],
    ["'x' in params.missing", false],
  ])('%s is %j', (source, value) => {
    expect(run(source)).toBe(value);
  });
});

describe('null propagation', () => {
  it.each([
    ['params.missing', null],
    ['params.missing.deeper.still', null],
    ['params.nothing.x', null],
    ['steps.skipped.result.json.ok', null],
    ['steps.nope.status', null],
    ['params.tags[5]', null],
    ['params.tags[-1]', null],
    ['params.missing[0]', null],
    ["params['missing']", null],
    ["'abc'[1]", 'b'],
    ["'abc'[9]", null],
    ['params.constructor', null],
    ['params.__proto__', null],
    ['steps.stop-app.outputs.list[1]', 20],
    ["steps['stop-app'].result.json.nested.v", 'deep'],
    ['params.missing == null', true],
    ['params.missing && true', false],
    ['!params.missing', true],
    ['params.missing || true', true],
  ])('%s is %j', (source, value) => {
    expect(run(source)).toEqual(value);
  });

  it('treats undefined in the scope as null', () => {
    expect(run('params.u', { params: { u: undefined } })).toBeNull();
  });

  it('rejects names that are not roots or not available here', () => {
    expect(fail('result.x')).toEqual({ code: 'EXPR_EVAL', message: "'result' is not available here", offset: 0, length: 6 });
    expect(fail('foo.bar')).toEqual({ code: 'EXPR_EVAL', message: "unknown name 'foo'", offset: 0, length: 3 });
    expect(fail('index-1')).toEqual({
      code: 'EXPR_EVAL',
      message: "unknown name 'index-1' (to subtract, put spaces around '-')",
      offset: 0,
      length: 7,
    });
  });
});

describe('UNKNOWN propagation', () => {
  const plan: Scope = {
    params: { target: 'prod', on: true, off: false },
    steps: { restore: UNKNOWN, probe: { status: 'succeeded', outputs: { n: UNKNOWN, list: [1, UNKNOWN] } } },
    run: { id: UNKNOWN },
  };
  const plan$ = (source: string) => run(source, plan);

  it.each([
    'steps.restore',
    'steps.restore.outputs.lag_ms',
    "steps.restore['x'][0]",
    'params.tags[steps.restore]',
    'steps.probe.outputs.n + 1',
    '1 - steps.probe.outputs.n',
    'steps.probe.outputs.n > 3',
    "steps.restore.status == 'succeeded'",
    "steps.restore.status != 'failed'",
    '!steps.restore.ok',
    '-steps.probe.outputs.n',
    'steps.probe.outputs.n in [1, 2]',
    "'x' in steps.restore",
    'length(steps.restore)',
    "contains(steps.probe.outputs.list, 2)",
    "join(steps.probe.outputs.list, ',')",
    'toJSON(steps.probe.outputs)',
    'default(steps.restore.x, 5)',
    'true && steps.restore.ok',
    'false || steps.restore.ok',
    'steps.restore.ok && true',
    'steps.restore.ok || false',
    'steps.probe.outputs.list == [1, 2]',
    "'run-' + run.id",
  ])('%s is UNKNOWN', (source) => {
    expect(plan$(source)).toBe(UNKNOWN);
  });

  it.each([
    ['false && steps.restore.ok', false],
    ['steps.restore.ok && false', false],
    ['steps.restore.ok && params.off', false],
    ['true || steps.restore.ok', true],
    ['steps.restore.ok || true', true],
    ["params.target == 'staging' && steps.restore.status == 'succeeded'", false],
    ['steps.probe.outputs.list == [2, 2]', false],
    ['contains(steps.probe.outputs.list, 1)', true],
    ['length(steps.probe.outputs.list)', 2],
    ['default(7, steps.restore)', 7],
    ["steps.probe.status == 'succeeded'", true],
    // The right side would fail, but only if the unknown left side were true: unknown, not an error.
    ['steps.restore.ok && 1 > "a"', UNKNOWN],
  ])('%s is %j (the known part decides)', (source, value) => {
    expect(plan$(source)).toBe(value);
  });

  it('still reports type errors of known operands', () => {
    expect(fail('1 && steps.restore.ok', plan)).toMatchObject({ code: 'EXPR_TYPE', message: 'expected a boolean, got number' });
  });

  it('keeps unknown elements inside a list literal', () => {
    expect(plan$('[1, steps.restore]')).toEqual([1, UNKNOWN]);
  });
});
