import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, shellQuote } from '../../src/dsl/expr/index.js';

// A scratch folder the injected commands would write into, so "nothing was created" can be checked.
const dir = mkdtempSync(join(tmpdir(), 'runbook-quote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs the script with real bash, in the scratch folder, exactly as `shell.run` is run.
const bash = (script: string) =>
  execFileSync('bash', ['-eo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/home/nobody' } });

const attacks = [
  "'; rm -rf / #",
  `'; touch ${dir}/pwned-quote #`,
  `$(touch ${dir}/pwned-subst)`,
  `\`touch ${dir}/pwned-backtick\``,
  `a\ntouch ${dir}/pwned-newline`,
  `"; touch ${dir}/pwned-dq; echo "`,
  '$HOME ${HOME} ~ * ?',
  "it's \"quoted\" \\ back\\slash",
  "''''",
  '',
  ' leading and trailing ',
  '\t\r\n',
  '!! !$ history',
  '; | & && || > < >> 2>&1',
  'ünïcödé ✓ 🚀',
  '-n',
];

describe('shellQuote', () => {
  it.each(attacks)('%j reaches bash as exactly one word, unchanged', (value) => {
    const quoted = shellQuote(value);
    expect(bash(`printf %s ${quoted}`)).toBe(value);
    // One word: bash sees exactly one argument.
    expect(bash(`set -- ${quoted}; printf %s "$#"`)).toBe('1');
  });

  it('created no file through any of the attacks', () => {
    for (const value of attacks) bash(`printf %s ${shellQuote(value)} >/dev/null`);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'pwned-subst'))).toBe(false);
  });

  it('writes single-quoted words', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('abc')).toBe("'abc'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('refuses NUL, which bash cannot carry', () => {
    expect(() => shellQuote('a\0b')).toThrow('NUL');
  });

  it('makes template interpolation into shell.run safe', () => {
    const scope = { params: { file: `x'; touch ${dir}/pwned-template; echo '`, n: 2 } };
    const script = renderTemplate(parseTemplate('printf "%s|" ${{ params.file }} ${{ params.n }}'), scope, { quote: shellQuote }) as string;
    expect(bash(script)).toBe(`${scope.params.file}|2|`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
