// `runbook validate` through the real CLI: every error of every file as `file:line:col: message`
// with the source line and a caret, --json, exit codes, usage errors.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const INVALID = join(ROOT, 'test/runbooks/invalid');
const VALID = join(ROOT, 'test/runbooks/valid');
const EXPECT = /^# expect (error|warning): ([A-Z_]+) at (?:(.+):)?(\d+):(\d+)\s*$/;

const haveDist = existsSync(CLI);
if (!haveDist) {
  if (process.env.CI === 'true') throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  console.warn(`skipping the CLI validate tests: ${CLI} is missing (build with npx tsc -p .)`);
}

const cli = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });

const invalidFiles = readdirSync(INVALID)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();

/** Expected errors (or, with `warnings`, warnings) of a golden file: file (relative to INVALID), code, line, col. */
function expected(name: string, severity: 'error' | 'warning' | 'all' = 'error') {
  const out: { file: string; code: string; line: number; col: number }[] = [];
  for (const l of readFileSync(join(INVALID, name), 'utf8').split('\n')) {
    const m = EXPECT.exec(l);
    if (!m) break;
    if (severity !== 'all' && m[1] !== severity) continue;
    out.push({ file: m[3] ?? name, code: m[2], line: Number(m[4]), col: Number(m[5]) });
  }
  return out;
}
const allExpected = invalidFiles.flatMap((f) => expected(f, 'all'));
const expectedErrors = invalidFiles.flatMap((f) => expected(f));

describe.skipIf(!haveDist)('runbook validate (CLI)', () => {
  it('reports every error of every invalid file with position, source line and caret; exit 2', () => {
    const r = cli(['validate', ...invalidFiles], INVALID);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    for (const e of allExpected) {
      const head = lines.findIndex((l) => l.startsWith(`${e.file}:${e.line}:${e.col}: `) && l.endsWith(` [${e.code}]`));
      expect(head, `no '${e.file}:${e.line}:${e.col}: … [${e.code}]' in:\n${r.stderr}`).toBeGreaterThanOrEqual(0);
      const source = readFileSync(join(INVALID, e.file), 'utf8').split('\n')[e.line - 1].replace(/\t/g, ' ');
      const gutter = `${e.line} | `;
      expect(lines[head + 1]).toBe(gutter + source);
      expect(lines[head + 2]).toBe(' '.repeat(gutter.length + e.col - 1) + '^');
    }
    const heads = lines.filter((l) => /^[\w./-]+\.yaml:\d+:\d+: .+ \[[A-Z_]+\]$/.test(l));
    expect(heads.length).toBe(allExpected.length);
    expect(lines).toContain(`✗ ${expectedErrors.length} errors in ${invalidFiles.length} of ${invalidFiles.length} files`);
  });

  it('--json gives every file with its errors', () => {
    const r = cli(['validate', '--json', ...invalidFiles, join(VALID, 'minimal.yaml')], INVALID);
    expect(r.status).toBe(2);
    const json = JSON.parse(r.stdout) as {
      valid: boolean;
      files: {
        file: string;
        valid: boolean;
        runbook?: string;
        phases: number;
        steps: number;
        errors: { code: string; message: string; file: string; line: number; col: number; offset: number }[];
      }[];
    };
    expect(json.valid).toBe(false);
    expect(json.files.length).toBe(invalidFiles.length + 1);
    for (const [i, name] of invalidFiles.entries()) {
      const f = json.files[i];
      expect(f).toMatchObject({ file: name, valid: false });
      const got = f.errors.map((e) => `${e.code} ${e.file}:${e.line}:${e.col}`).sort();
      expect(got).toEqual(expected(name).map((e) => `${e.code} ${e.file}:${e.line}:${e.col}`).sort());
      const warned = ((f as { warnings?: { code: string; file: string; line: number; col: number }[] }).warnings ?? []).map((e) => `${e.code} ${e.file}:${e.line}:${e.col}`).sort();
      expect(warned).toEqual(expected(name, 'warning').map((e) => `${e.code} ${e.file}:${e.line}:${e.col}`).sort());
      for (const e of f.errors) {
        expect(e.message.length).toBeGreaterThan(10);
        expect(e.offset).toBeTypeOf('number');
      }
    }
    expect(json.files[invalidFiles.length]).toEqual({
      file: join(VALID, 'minimal.yaml'),
      valid: true,
      runbook: 'minimal',
      phases: 1,
      steps: 1,
      errors: [],
      warnings: [],
    });
  });

  it('exits 0 on valid files and says so for each', () => {
    const files = ['minimal.yaml', 'parallel.yaml', 'control-steps.yaml', 'sub/restore-db.yaml'];
    const r = cli(['validate', ...files], VALID);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      "✓ minimal.yaml: valid (runbook 'minimal', 1 phase, 1 step)",
      "✓ parallel.yaml: valid (runbook 'parallel', 2 phases, 6 steps)",
      "✓ control-steps.yaml: valid (runbook 'control-steps', 1 phase, 7 steps)",
      "✓ sub/restore-db.yaml: valid (runbook 'restore-db', 1 phase, 1 step)",
    ]);
    const json = JSON.parse(cli(['validate', '--json', 'minimal.yaml'], VALID).stdout);
    expect(json).toEqual({ valid: true, files: [{ file: 'minimal.yaml', valid: true, runbook: 'minimal', phases: 1, steps: 1, errors: [], warnings: [] }] });
  });

  it('a missing file is an error, exit 2', () => {
    const r = cli(['validate', 'no-such-file.yaml'], VALID);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no-such-file.yaml: file not found [FILE]');
  });

  it('usage errors exit 2 with a hint; --help and --version exit 0', () => {
    const flag = cli(['validate', '--bogus', 'minimal.yaml'], VALID);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("error: unknown option '--bogus'");
    expect(flag.stderr).toContain('--help');

    const command = cli(['valdate', 'minimal.yaml']);
    expect(command.status).toBe(2);
    expect(command.stderr).toContain("unknown command 'valdate'");
    expect(command.stderr).toContain('Did you mean validate?');

    const none = cli(['validate']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("missing required argument 'file'");

    const help = cli(['validate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: runbook validate [options] <file...>');
    expect(help.stdout).toContain('--json');

    const version = cli(['--version']);
    expect(version.status).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });
});
