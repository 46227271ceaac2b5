/**
 * Issue 11 item 11: raw ESC and control bytes from a step's stderr must not reach the terminal
 * (plain failure line) or report.md. Unit cases, then the real CLI with a hostile stderr.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalEvent, terminalLine, terminalText } from '../../src/util/terminal-text.js';
import { assertBuilt, runCli } from '../helpers/cli.js';

// Every C0 control but \n and \t, DEL, every C1 control, and the bidi overrides.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let dir: string;
beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'runbook-terminal-text-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('terminalText', () => {
  it('escapes controls visibly and keeps newlines, tabs and ordinary text', () => {
    expect(terminalText('\x1b[2J\x1b]0;pwned\x07ok\r\n\tdé\u202Egnp.exe\x9b31m\x7f')).toBe('\\x1b[2J\\x1b]0;pwned\\x07ok\\x0d\n\tdé\\u202egnp.exe\\x9b31m\\x7f');
    expect(terminalLine('a\nb\tc\x00')).toBe('a\\nb\\tc\\x00');
  });

  it('leaves no unsafe character for any code point below U+3000', () => {
    let all = '';
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
    const out = terminalText(all);
    expect(UNSAFE.test(out)).toBe(false);
    expect(out.includes('\t\n')).toBe(true);
  });

  it('escapes error and message fields of events, and returns other events unchanged', () => {
    const e = { type: 'step.finished', error: 'exit 3: \x1b[31mboom' };
    expect(terminalEvent(e)).toEqual({ type: 'step.finished', error: 'exit 3: \\x1b[31mboom' });
    const plain = { type: 'step.output', text: 'x' };
    expect(terminalEvent(plain)).toBe(plain);
  });
});

describe('control bytes from a step', () => {
  it('reach neither the plain failure line nor report.md', async () => {
    const file = join(dir, 'hostile.yaml');
    writeFileSync(
      file,
      `runbook: hostile-stderr
phases:
  - id: main
    steps:
      - id: evil
        shell: { run: "printf 'disk \\\\033]0;pwned\\\\007\\\\033[2J\\\\rfull\\\\n' >&2; exit 3" }
`,
    );
    const stateDir = join(dir, 'state');
    const r = await runCli(['run', file, '--no-tui', '--state-dir', stateDir]);
    expect(r.code).toBe(1);
    const failure = r.stdout.split('\n').find((l) => l.includes('evil') && l.includes('exit code 3'));
    expect(failure).toContain('disk \\x1b]0;pwned\\x07\\x1b[2J\\x0dfull');
    expect(UNSAFE.test(r.stdout)).toBe(false);
    const runId = readdirSync(join(stateDir, 'runs'))[0];
    const report = readFileSync(join(stateDir, 'runs', runId, 'report.md'), 'utf8');
    expect(report).toContain('\\x1b]0;pwned');
    expect(UNSAFE.test(report)).toBe(false);
  }, 30_000);
});
