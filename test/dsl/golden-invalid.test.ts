// Golden invalid runbooks: each file in test/runbooks/invalid/ starts with one or more
// `# expect error: CODE at LINE:COL` lines (or `at other-file.yaml:LINE:COL`, relative to the file,
// for errors reported in a sub-runbook), and `# expect warning: CODE at LINE:COL` for each warning
// (NO_ROLLBACK, …). Every expected error and warning must be reported, and nothing else.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';

const DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../runbooks/invalid');
const EXPECT = /^# expect (error|warning): ([A-Z_]+) at (?:(.+):)?(\d+):(\d+)\s*$/;

const files = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

function expectations(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('# expect ')) break;
    const m = EXPECT.exec(line);
    if (!m) throw new Error(`${file}: malformed expectation: ${line}`);
    const [, severity, code, other, l, c] = m;
    const where = other ? resolve(dirname(file), other) : file;
    out.push(`${severity === 'warning' ? 'warning ' : ''}${code} at ${relative(DIR, where)}:${l}:${c}`);
  }
  return out.sort();
}

describe('golden invalid runbooks', () => {
  it('has at least 45 of them', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
  });

  it.each(files)('%s', (name) => {
    const file = join(DIR, name);
    const expected = expectations(file);
    expect(expected.filter((e) => !e.startsWith('warning ')).length, `${name} states no '# expect error:' on its first lines`).toBeGreaterThan(0);
    const diags = allDiagnostics(loadRunbook(file));
    const actual = diags.map((d) => `${d.severity === 'warning' ? 'warning ' : ''}${d.code} at ${relative(DIR, resolve(d.file ?? ''))}:${d.line}:${d.col}`).sort();
    const messages = diags.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message} [${d.code}]`).join('\n');
    expect(actual, `diagnostics were:\n${messages}`).toEqual(expected);
    for (const d of diags) {
      // Messages are for an ops engineer: no leftovers of the machinery.
      expect(d.message).not.toMatch(/undefined|NaN|\[object |must match \^|does not match any allowed form|must NOT/);
      expect(d.message.length).toBeGreaterThan(10);
    }
  });
});
