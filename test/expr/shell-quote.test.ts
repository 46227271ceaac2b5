import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTemplate, renderShellTemplate, shellQuote, type ShellScript } from '../../src/dsl/expr/index.js';

// A scratch folder the injected commands would write into, so "nothing was created" can be checked.
const dir = mkdtempSync(join(tmpdir(), 'runbook-quote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs the script with real bash, in the scratch folder, exactly as `shell.run` is run.
const bash = (script: string, env: Record<string, string> = {}) =>
  execFileSync('bash', ['-eo', 'pipefail', '-c', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/home/nobody', ...env } });

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

describe('shellQuote (how plan and --step show a value)', () => {
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

  it('makes template interpolation into shell.run safe: values arrive as variables, in every safe context', () => {
    const scope = { params: { file: `x'; touch ${dir}/pwned-template; echo '`, n: 2 } };
    const run = (text: string) => {
      const r = renderShellTemplate(text, parseTemplate(text), scope) as ShellScript;
      return bash(r.script, r.env);
    };
    expect(run('printf "%s|" ${{ params.file }} ${{ params.n }}')).toBe(`${scope.params.file}|2|`);
    expect(run('printf "%s|" "f=${{ params.file }}"')).toBe(`f=${scope.params.file}|`);
    expect(run('cat <<EOF\nf=${{ params.file }}\nEOF\n')).toBe(`f=${scope.params.file}\n`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each(attacks.filter((a) => a !== ''))('%j in double quotes and in a heredoc reaches bash unchanged', (value) => {
    const scope = { v: value };
    const run = (text: string) => {
      const r = renderShellTemplate(text, parseTemplate(text), scope) as ShellScript;
      return bash(r.script, r.env);
    };
    expect(run('printf %s "${{ v }}"')).toBe(value);
    expect(run('printf %s "<${{ v }}>"')).toBe(`<${value}>`);
    expect(run('cat <<EOF\n${{ v }}\nEOF\n')).toBe(`${value}\n`);
    expect(run('set -- ${{ v }}; printf %s "$#"')).toBe('1');
    expect(readdirSync(dir)).toEqual([]);
  });
});
