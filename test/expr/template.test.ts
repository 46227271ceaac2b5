import { describe, expect, it } from 'vitest';
import {
  ExprError,
  hasExpressions,
  isWholeExpression,
  parseBareExpression,
  parseTemplate,
  renderShellTemplate,
  renderTemplate,
  stringifyValue,
  UNKNOWN,
  type Scope,
} from '../../src/dsl/expr/index.js';
import { show } from './show.js';

const scope: Scope = {
  params: { n: 5, name: 'db', flag: true, list: [1, 'a'], obj: { k: 'v' }, none: null, evil: "'; rm -rf / #" },
  steps: { restore: UNKNOWN },
};
const render = (text: string, opts = {}) => renderTemplate(parseTemplate(text), scope, opts);
const errorOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof ExprError) return { code: e.code, message: e.message, offset: e.offset, length: e.length };
    throw e;
  }
  throw new Error('expected an ExprError');
};

describe('parseTemplate', () => {
  it('splits text and expressions with offsets into the template', () => {
    const parts = parseTemplate('pg_restore ${{ params.name }} --jobs=${{params.n}}');
    expect(parts).toMatchObject([
      { kind: 'text', text: 'pg_restore ' },
      { kind: 'expr', source: ' params.name ', offset: 14, expr: { kind: 'member', name: 'name', start: 1, end: 12 } },
      { kind: 'text', text: ' --jobs=' },
      { kind: 'expr', source: 'params.n', offset: 40 },
    ]);
  });

  it('finds the closing braces outside string literals', () => {
    const parts = parseTemplate("a${{ '}}' + \"}}\" }}b");
    expect(parts.map((p) => (p.kind === 'text' ? p.text : show(p.expr)))).toEqual(['a', "(+ '}}' '}}')", 'b']);
  });

  it('leaves shell ${VAR} and lone braces alone', () => {
    expect(parseTemplate('echo ${HOME} {a,b} }}')).toEqual([{ kind: 'text', text: 'echo ${HOME} {a,b} }}' }]);
    expect(parseTemplate('')).toEqual([]);
  });

  it('reports errors with offsets relative to the template string', () => {
    expect(errorOf(() => parseTemplate('echo ${{ params.x'))).toEqual({
      code: 'EXPR_SYNTAX',
      message: "unterminated '${{' — missing '}}'",
      offset: 5,
      length: 3,
    });
    expect(errorOf(() => parseTemplate('echo ${{ params. }}'))).toEqual({
      code: 'EXPR_SYNTAX',
      message: 'unexpected end of input — expected a name',
      offset: 17,
      length: 0,
    });
    expect(errorOf(() => parseTemplate('x ${{ a + ) }}'))).toMatchObject({ offset: 10, length: 1 });
    expect(errorOf(() => parseTemplate('x ${{ }}'))).toMatchObject({ message: 'empty expression', offset: 5 });
    expect(errorOf(() => parseTemplate('${{ lenght(x) }}'))).toMatchObject({ code: 'EXPR_FUNCTION', offset: 4, length: 6 });
  });

  it('hasExpressions and isWholeExpression', () => {
    expect(hasExpressions('plain $HOME')).toBe(false);
    expect(hasExpressions('a ${{ b }}')).toBe(true);
    expect(isWholeExpression(parseTemplate('${{ params.n }}'))).toBe(true);
    expect(isWholeExpression(parseTemplate(' ${{ params.n }}'))).toBe(false);
    expect(isWholeExpression(parseTemplate('${{ a }}${{ b }}'))).toBe(false);
    expect(isWholeExpression(parseTemplate('text'))).toBe(false);
  });
});

describe('renderTemplate', () => {
  it('keeps the type of a whole single expression', () => {
    expect(render('${{ params.n }}')).toBe(5);
    expect(render('${{ params.flag }}')).toBe(true);
    expect(render('${{ params.list }}')).toEqual([1, 'a']);
    expect(render('${{ params.obj }}')).toEqual({ k: 'v' });
    expect(render('${{ params.none }}')).toBeNull();
    expect(render('${{ params.missing }}')).toBeNull();
  });

  it('joins mixed parts as text', () => {
    expect(render('n=${{ params.n }} flag=${{ params.flag }} none=[${{ params.none }}] list=${{ params.list }} obj=${{ params.obj }}')).toBe(
      'n=5 flag=true none=[] list=[1,"a"] obj={"k":"v"}',
    );
    expect(render(' ${{ params.n }}')).toBe(' 5');
    expect(render('no expressions')).toBe('no expressions');
    expect(render('')).toBe('');
  });

  const shell = (text: string, opts = {}) => renderShellTemplate(text, parseTemplate(text), scope, opts);

  it('passes every value of a shell script as a variable, even a whole expression', () => {
    expect(shell('echo ${{ params.evil }} "n=${{ params.n }}"')).toEqual({
      script: 'echo "${RUNBOOK_V_0}" "n=${RUNBOOK_V_1}"',
      env: { RUNBOOK_V_0: "'; rm -rf / #", RUNBOOK_V_1: '5' },
    });
    expect(shell('${{ params.n }}')).toEqual({ script: '"${RUNBOOK_V_0}"', env: { RUNBOOK_V_0: '5' } });
    expect(shell('echo ${{ params.none }}')).toEqual({ script: 'echo "${RUNBOOK_V_0}"', env: { RUNBOOK_V_0: '' } });
  });

  it('shows a shell script with each value quoted for its context (display only)', () => {
    expect(shell('echo ${{ params.evil }} "n=${{ params.evil }}"', { display: true })).toBe(`echo ''\\''; rm -rf / #' "n='; rm -rf / #"`);
    expect(shell('${{ params.n }}', { display: true })).toBe("'5'");
    expect(shell('echo "${{ params.list }}"', { display: true })).toBe('echo "[1,\\"a\\"]"');
  });

  it('returns UNKNOWN, or keeps the original text with keepUnknown', () => {
    expect(render('${{ steps.restore.outputs.key }}')).toBe(UNKNOWN);
    expect(render('key=${{ steps.restore.outputs.key }}')).toBe(UNKNOWN);
    expect(render('${{ [1, steps.restore] }}')).toBe(UNKNOWN);
    expect(render('${{  steps.restore.outputs.key }}', { keepUnknown: true })).toBe('${{  steps.restore.outputs.key }}');
    expect(shell('restore ${{ steps.restore.outputs.key }} as ${{ params.name }}', { keepUnknown: true, display: true })).toBe(
      "restore ${{ steps.restore.outputs.key }} as 'db'",
    );
    expect(shell('restore ${{ steps.restore.outputs.key }}')).toBe(UNKNOWN);
    // A known result of unknown inputs is rendered.
    expect(render('${{ false && steps.restore.ok }}')).toBe(false);
  });

  it('reports evaluation errors with offsets relative to the template', () => {
    expect(errorOf(() => render('x=${{ params.n + "a" }}'))).toEqual({
      code: 'EXPR_TYPE',
      message: 'cannot add number and string',
      offset: 6,
      length: 14,
    });
  });
});

describe('parseBareExpression', () => {
  it('accepts a bare expression', () => {
    const { expr, offset } = parseBareExpression("steps.a.status == 'ok'");
    expect(offset).toBe(0);
    expect(show(expr)).toBe("(== steps.a.status 'ok')");
  });

  it('accepts a ${{ }} wrapper, with whitespace around it', () => {
    expect(parseBareExpression('${{ a && b }}')).toMatchObject({ offset: 3, expr: { kind: 'binary', start: 1, end: 7 } });
    expect(parseBareExpression('  ${{a}}\n')).toMatchObject({ offset: 5, expr: { kind: 'ident', name: 'a' } });
  });

  it('rejects a wrapper around part of the expression, with offsets into the text', () => {
    expect(errorOf(() => parseBareExpression('${{ a }} && ${{ b }}'))).toMatchObject({
      code: 'EXPR_SYNTAX',
      message: "'${{ }}' must wrap the whole expression",
      offset: 0,
    });
    expect(errorOf(() => parseBareExpression(' ${{ a + }}'))).toMatchObject({ offset: 9 });
    expect(errorOf(() => parseBareExpression('a +'))).toMatchObject({ offset: 3 });
  });
});

describe('stringifyValue', () => {
  it.each([
    ['text', 'text'],
    [1.5, '1.5'],
    [false, 'false'],
    [null, ''],
    [undefined, ''],
    [[1, { a: null }], '[1,{"a":null}]'],
  ])('%j → %j', (v, s) => {
    expect(stringifyValue(v)).toBe(s);
  });
});
