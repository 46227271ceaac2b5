/**
 * Property test of the shell quoting rule (spec §12) against real bash: random scripts with `${{ }}`
 * in every safe quoting context (bare words, double quotes, $( ), backticks, heredocs, here-strings,
 * comments, case, for, arrays, functions, pipelines), filled with hostile values ($( ), backticks,
 * quotes, `;`, newlines, `\`, globs, EOF lines, arithmetic, references to the RUNBOOK_V_ variables
 * themselves). Each script prints what it received as NUL-separated records: the records must equal
 * the values exactly (nothing split, globbed, expanded or re-parsed), and nothing may execute (the
 * hostile values would create files in a sentinel folder). Contexts that cannot be made safe must be
 * SHELL_QUOTE errors. The cases run in batches in one bash process each (a subshell and `eval` per
 * case, which parses the text exactly as `bash -c` does); a sample also runs through `bash -c` with
 * the step's own flags.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envPrelude, ExprError, parseTemplate, renderShellTemplate, shellPlaceholders, type ShellScript } from '../../src/dsl/expr/index.js';

const CASES = Number(process.env.SHELL_PROPERTY_CASES ?? 6000);
const SEED = Number(process.env.SHELL_PROPERTY_SEED ?? 20261201);

const root = mkdtempSync(join(tmpdir(), 'runbook-shell-prop-'));
// Where an injected command would write (also the cwd of every case): must stay empty.
const sentinel = join(root, 'sentinel');
mkdirSync(sentinel);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = [
  '$(touch "$PWN/subst")',
  '`touch "$PWN/backtick"`',
  "'; touch \"$PWN/sq\"; echo '",
  '"; touch "$PWN/dq"; echo "',
  '\ntouch "$PWN/newline"\n',
  '\nEOF\ntouch "$PWN/heredoc"\nEOF\n',
  'EOF',
  '\tEOF',
  'a[$(touch "$PWN/arith")]',
  '$((1+1))',
  '${HOME}',
  '$HOME',
  '${RUNBOOK_V_0}',
  '"${RUNBOOK_V_1}"',
  '$RUNBOOK_V_0',
  '\\',
  '\\$',
  '\\"',
  "\\'",
  "'",
  '"',
  '`',
  '$',
  ';',
  '&&',
  '||',
  '|',
  '&',
  '>',
  '<',
  '(',
  ')',
  '{',
  '}',
  '#',
  '!',
  '!!',
  '*',
  '?',
  '[a-z]',
  '~',
  '~root',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '-n',
  '-e',
  '--',
  '%s',
  '%%',
  '$\'\\x41\'',
  '=',
  'x=1',
  'ünï ✓ 🚀',
  '',
  'word',
  '123',
  '{a,b}',
  '$(',
  '<<EOF',
];

function value(r: () => number): string {
  const n = Math.floor(r() * 5);
  let s = '';
  for (let i = 0; i < n; i++) s += HOSTILE[Math.floor(r() * HOSTILE.length)];
  return s;
}

/** A script fragment: its template (P stands for a placeholder) and the records it must print. */
interface Fragment {
  text: string;
  /** How many placeholders. */
  arity: number;
  expect: (v: string[]) => string[];
}

const stripNl = (s: string) => s.replace(/\n+$/, '');

const FRAGMENTS: Fragment[] = [
  { text: "printf '%s\\0' P", arity: 1, expect: ([a]) => [a] },
  { text: "printf '%s\\0' pre_P_post", arity: 1, expect: ([a]) => [`pre_${a}_post`] },
  { text: "printf '%s\\0' P:P", arity: 2, expect: ([a, b]) => [`${a}:${b}`] },
  { text: "printf '%s\\0' \"pre P post\"", arity: 1, expect: ([a]) => [`pre ${a} post`] },
  { text: "printf '%s\\0' \"P\"P\"P\"", arity: 3, expect: ([a, b, c]) => [a + b + c] },
  { text: "x=P; printf '%s\\0' \"$x\"", arity: 1, expect: ([a]) => [a] },
  { text: "x=\"P\"; printf '%s\\0' \"$x\"", arity: 1, expect: ([a]) => [a] },
  { text: "export XV=P; printf '%s\\0' \"$XV\"", arity: 1, expect: ([a]) => [a] },
  { text: "printf '%s\\0' \"$(printf '%s.' P)\"", arity: 1, expect: ([a]) => [`${a}.`] },
  { text: "printf '%s\\0' \"$(printf '%s.' \"P\")\"", arity: 1, expect: ([a]) => [`${a}.`] },
  { text: "printf '%s\\0' \"$(printf '%s.' \"$(printf '%s' P)\")\"", arity: 1, expect: ([a]) => [`${stripNl(a)}.`] },
  { text: "printf '%s\\0' \"`printf '%s.' P`\"", arity: 1, expect: ([a]) => [`${a}.`] },
  { text: "printf '%s\\0' \"`printf '%s.' \"P\"`\"", arity: 1, expect: ([a]) => [`${a}.`] },
  { text: "x=`printf '%s.' P`; printf '%s\\0' \"$x\"", arity: 1, expect: ([a]) => [`${a}.`] },
  { text: 'cat <<EOF\npre P\nEOF\nprintf \'\\0\'', arity: 1, expect: ([a]) => [`pre ${a}\n`] },
  { text: 'cat <<EOF\n"P" \'P\' $HOME_NOT_SET\\$x\nEOF\nprintf \'\\0\'', arity: 2, expect: ([a, b]) => [`"${a}" '${b}' $x\n`] },
  { text: 'cat <<-END\n\tP\n\tEND\nprintf \'\\0\'', arity: 1, expect: ([a]) => [`${a}\n`] },
  { text: 'cat <<A; cat <<B\nP\nA\nP\nB\nprintf \'\\0\'', arity: 2, expect: ([a, b]) => [`${a}\n${b}\n`] },
  { text: "printf '%s\\0' \"$(cat <<EOF\nP\nEOF\n)\"", arity: 1, expect: ([a]) => [stripNl(`${a}\n`)] },
  { text: "cat <<<P; printf '\\0'", arity: 1, expect: ([a]) => [`${a}\n`] },
  { text: "cat <<<\"P P\"; printf '\\0'", arity: 2, expect: ([a, b]) => [`${a} ${b}\n`] },
  { text: "printf '%s\\0' ok # P\n", arity: 1, expect: () => ['ok'] },
  { text: "# P\nprintf '%s\\0' ok", arity: 1, expect: () => ['ok'] },
  { text: "case P in x) printf '%s\\0' x;; *) printf '%s\\0' other;; esac", arity: 1, expect: ([a]) => [a === 'x' ? 'x' : 'other'] },
  { text: "case x in P) printf '%s\\0' same;; *) printf '%s\\0' other;; esac", arity: 1, expect: ([a]) => [a === 'x' ? 'same' : 'other'] },
  { text: "for a in P; do printf '%s\\0' \"$a\"; done", arity: 1, expect: ([a]) => [a] },
  { text: "a=(P P); printf '%s\\0' \"${#a[@]}\" \"${a[1]}\"", arity: 2, expect: ([, b]) => ['2', b] },
  { text: "[[ P == P ]] && printf '%s\\0' eq || printf '%s\\0' ne", arity: 2, expect: ([a, b]) => [a === b ? 'eq' : 'ne'] },
  { text: "[[ -n P ]] && printf '%s\\0' set || printf '%s\\0' empty", arity: 1, expect: ([a]) => [a === '' ? 'empty' : 'set'] },
  { text: "f() { printf '%s\\0' \"$#\" \"$1\"; }; (f P)", arity: 1, expect: ([a]) => ['1', a] },
  { text: "printf '%s' P | { IFS= read -r -d '' l || true; printf '%s\\0' \"$l\"; }", arity: 1, expect: ([a]) => [a] },
  { text: "if true; then printf '%s\\0' P; fi", arity: 1, expect: ([a]) => [a] },
  { text: "{ printf '%s\\0' P; }", arity: 1, expect: ([a]) => [a] },
  { text: "( printf '%s\\0' \"P\" )", arity: 1, expect: ([a]) => [a] },
  { text: "set -- P P; printf '%s\\0' \"$#\"", arity: 2, expect: () => ['2'] },
  { text: "if test P = P; then printf '%s\\0' same; fi", arity: 2, expect: ([a, b]) => (a === b ? ['same'] : []) },
  { text: "v=P\nprintf '%s\\0' \"${v}\"", arity: 1, expect: ([a]) => [a] },
  { text: "printf '%s\\0' P \\\n  P", arity: 2, expect: ([a, b]) => [a, b] },
  { text: "printf '%s\\0' \"line1\nP\"", arity: 1, expect: ([a]) => [`line1\n${a}`] },
  { text: "x='lit'P; printf '%s\\0' \"$x\"", arity: 1, expect: ([a]) => [`lit${a}`] },
];

/** Contexts that cannot be made safe: each must be a SHELL_QUOTE error. */
const UNSAFE = [
  "echo 'P'",
  "echo 'a'P'b P'",
  "echo $'P'",
  "cat <<'EOF'\nP\nEOF\n",
  'cat <<"EOF"\nP\nEOF\n',
  'cat <<\\EOF\nP\nEOF\n',
  'echo $(( P + 1 ))',
  '(( P ))',
  'echo $[ P ]',
  'echo ${X:-P}',
  'echo "${X:-P}"',
  'a[P]=1',
  'echo "${a[P]}"',
  '[[ P -eq 1 ]]',
  '[[ "P" -gt 1 ]]',
  'let x=P',
  'declare -i x=P',
  'declare -i n; n=P',
  'local -ai n=(); f() { n=P; }',
  'eval "echo P"',
  'trap "echo P" EXIT',
  'if eval P; then :; fi',
  'echo $P',
  'echo "$P"',
  'echo \\P',
  'echo "\\P"',
  'cat <<P\nx\nP\n',
  "echo \"$(echo 'P')\"",
  "echo `echo 'P'`",
  "x=$(cat <<'EOF'\nP\nEOF\n)",
];

const toTemplate = (text: string) => {
  let n = 0;
  return text.replace(/P/g, () => `\${{ v[${n++}] }}`);
};

interface Case {
  template: string;
  values: string[];
  expected: string;
}

function makeCase(r: () => number): Case {
  const count = 1 + Math.floor(r() * 3);
  const texts: string[] = [];
  const values: string[] = [];
  let expected = '';
  for (let i = 0; i < count; i++) {
    const f = FRAGMENTS[Math.floor(r() * FRAGMENTS.length)];
    const vs = Array.from({ length: f.arity }, () => value(r));
    texts.push(f.text);
    values.push(...vs);
    for (const rec of f.expect(vs)) expected += `${rec}\0`;
  }
  const sep = r() < 0.5 ? '\n' : '; ';
  // A fragment that ends its line (a comment) needs no separator: `; ` cannot start a line.
  const script = texts.reduce((all, t) => (all === '' ? t : all.endsWith('\n') ? all + t : all + sep + t), '');
  return { template: toTemplate(script), values, expected };
}

function resolve(c: Case): ShellScript {
  let r;
  try {
    r = renderShellTemplate(c.template, parseTemplate(c.template), { v: c.values });
  } catch (e) {
    throw new Error(`${(e as Error).message} in:\n${c.template}`);
  }
  if (typeof r !== 'object') throw new Error(`not resolved: ${String(r)}`);
  return r;
}

const env = () => ({ PATH: process.env.PATH, HOME: '/nonexistent', PWN: sentinel, LC_ALL: 'C.UTF-8' });

/** A bash word for any text without NUL: $'…' with every byte but letters and digits as \xHH. */
function ansiC(text: string): string {
  let out = "$'";
  for (const b of Buffer.from(text, 'utf8')) out += /[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `${out}'`;
}

const MARK = '\x01';

/**
 * Runs cases in one bash: per case a subshell that exports its variables and `eval`s its script, then
 * prints a marker with the exit status. The harness's own quoting (ansiC) only carries the text in;
 * a mistake there shows up as a wrong output, never as a pass.
 */
function runBatch(file: string, scripts: ShellScript[]): Promise<{ out: string; rc: string }[]> {
  const lines = ['cd "$PWN"'];
  for (const s of scripts) {
    const exports = Object.entries(s.env).map(([n, v]) => `export ${n}=${ansiC(v)}`).join('; ');
    lines.push(`( set -eo pipefail; ${exports || ':'}; eval ${ansiC(s.script)} ); printf '\\001%s\\001' "$?"`);
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return new Promise((done, fail) => {
    const p = spawn('bash', ['--norc', file], { env: env(), stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => chunks.push(c));
    p.on('error', fail);
    p.on('close', (code) => {
      if (code !== 0) return fail(new Error(`driver exit ${code}`));
      const parts = Buffer.concat(chunks).toString('utf8').split(MARK);
      const results: { out: string; rc: string }[] = [];
      for (let i = 0; i + 1 < parts.length; i += 2) results.push({ out: parts[i], rc: parts[i + 1] });
      done(results);
    });
  });
}

function describeCase(c: Case, s: ShellScript): string {
  return `template:\n${c.template}\nvalues: ${JSON.stringify(c.values)}\nscript:\n${s.script}`;
}

describe('shell quoting, property test with real bash', () => {
  it(`${CASES} random scripts: every value arrives exactly, nothing executes (seed ${SEED})`, async () => {
    const r = rng(SEED);
    const cases = Array.from({ length: CASES }, () => makeCase(r));
    const scripts = cases.map(resolve);
    // Two batches: the machine has two cores.
    const half = Math.ceil(CASES / 2);
    const results = (
      await Promise.all([runBatch(join(root, 'batch-0.sh'), scripts.slice(0, half)), runBatch(join(root, 'batch-1.sh'), scripts.slice(half))])
    ).flat();
    expect(results).toHaveLength(CASES);
    let failures = 0;
    for (let i = 0; i < CASES; i++) {
      const { out, rc } = results[i];
      if (out === cases[i].expected && rc === '0') continue;
      if (failures++ < 3) {
        expect.soft(`${JSON.stringify(out)} rc ${rc}`, describeCase(cases[i], scripts[i])).toBe(`${JSON.stringify(cases[i].expected)} rc 0`);
      }
    }
    expect(failures, 'cases whose output differed').toBe(0);
    expect(readdirSync(sentinel), 'files created by injected commands').toEqual([]);
  }, 120_000);

  it('a sample runs through bash -eo pipefail -c exactly as shell.run does', () => {
    const r = rng(SEED + 1);
    for (let i = 0; i < 150; i++) {
      const c = makeCase(r);
      const s = resolve(c);
      const out = execFileSync('bash', ['--norc', '-eo', 'pipefail', '-c', s.script], { cwd: sentinel, env: { ...env(), ...s.env }, encoding: 'utf8' });
      expect(out, describeCase(c, s)).toBe(c.expected);
    }
    expect(readdirSync(sentinel)).toEqual([]);
  }, 60_000);

  it('a sample runs with its variables set by envPrelude inside the script (for transports without env, e.g. ssh)', () => {
    const r = rng(SEED + 2);
    for (let i = 0; i < 100; i++) {
      const c = makeCase(r);
      const s = resolve(c);
      const out = execFileSync('bash', ['--norc', '-eo', 'pipefail', '-c', envPrelude(s.env) + s.script], { cwd: sentinel, env: env(), encoding: 'utf8' });
      expect(out, describeCase(c, s)).toBe(c.expected);
    }
    expect(readdirSync(sentinel)).toEqual([]);
  }, 60_000);

  it.each(UNSAFE)('%j is a SHELL_QUOTE error', (text) => {
    const template = toTemplate(text);
    const parts = parseTemplate(template);
    const places = shellPlaceholders(template, parts);
    expect(places.some((p) => p.context.kind === 'unsafe'), JSON.stringify(places)).toBe(true);
    let error: unknown;
    try {
      renderShellTemplate(template, parts, { v: ['a', 'b'] });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExprError);
    expect((error as ExprError).code).toBe('SHELL_QUOTE');
  });

  it('every safe fragment is scanned as safe', () => {
    for (const f of FRAGMENTS) {
      const template = toTemplate(f.text);
      const places = shellPlaceholders(template, parseTemplate(template));
      expect(places.filter((p) => p.context.kind === 'unsafe'), f.text).toEqual([]);
    }
  });
});
