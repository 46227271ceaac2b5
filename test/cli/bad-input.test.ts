// Bad input through the real CLI (issue 11 items 12–18): one clear line, exit 2, nothing executed,
// never a stack trace. Also the config precedence, --params-file and `runbook params`.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig, ConfigError } from '../../src/cli/config.js';
import { allDiagnostics, loadRunbook } from '../../src/dsl/validate.js';
import { parseSets, resolveParams } from '../../src/dsl/params.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist/src/cli.js');
const haveDist = existsSync(CLI);
if (!haveDist) {
  if (process.env.CI === 'true') throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  console.warn(`skipping the bad-input CLI tests: ${CLI} is missing (build with npx tsc -p .)`);
}
const tmp = mkdtempSync(join(tmpdir(), 'runbook-bad-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const cli = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = tmp) =>
  spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 20_000, env: { ...process.env, NO_COLOR: '1', RUNBOOK_STATE: '', RUNBOOK_STATE_DIR: '', XDG_CONFIG_HOME: join(tmp, 'xdg'), ...env } });
const noTrace = (s: string) => expect(s).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n|RangeError|TypeError/);

const write = (name: string, text: string) => {
  const f = join(tmp, name);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, text);
  return f;
};
const marker = join(tmp, 'ran');
const simple = write('simple.yaml', `runbook: simple\nparams:\n  n: { type: integer, default: 1 }\n  ports: { type: list, items: integer, default: [18081, 18082] }\nphases:\n  - id: p\n    steps:\n      - id: touch\n        irreversible: "test marker"\n        shell: { run: "touch ${marker}" }\n`);

describe.skipIf(!haveDist)('bad input (CLI)', () => {
  it('validate refuses a FIFO and /dev/zero at once instead of hanging', () => {
    const fifo = join(tmp, 'pipe.yaml');
    execFileSync('mkfifo', [fifo]);
    for (const f of [fifo, '/dev/zero']) {
      const r = cli(['validate', f]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/cannot read it as a runbook: it is a (FIFO|device) \(runbooks are regular files\) \[FILE\]/);
      noTrace(r.stderr);
    }
  });

  it('validate refuses a file over 10 MiB, naming the limit', () => {
    const big = write('big.yaml', `runbook: big\n# ${'x'.repeat(10 * 1024 * 1024)}\n`);
    const r = cli(['validate', big]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('a runbook file may be at most 10.0 MiB [FILE_TOO_LARGE]');
  });

  it('a map nested 3,000 levels deep is one YAML_TOO_DEEP error, in validate, plan and run', () => {
    let text = 'runbook: deep\nphases:\n  - id: p\n    steps:\n      - id: a\n        log: hi\nmeasure:\n  m:\n';
    for (let i = 0; i < 3000; i++) text += ' '.repeat(4 + 2 * i) + `k${i}:\n`;
    const f = write('deep.yaml', text + ' '.repeat(6004) + 'v: 1\n');
    for (const cmd of ['validate', 'plan', 'run']) {
      const r = cli([cmd, f]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/deep\.yaml:\d+:\d+: maps and lists nest more than 100 levels deep here/);
      noTrace(r.stderr);
    }
  });

  it('--set of an undeclared name, __proto__ included, is refused; nothing runs', () => {
    for (const set of ['__proto__=x', 'constructor=x', 'nope=1']) {
      const r = cli(['run', simple, '--no-tui', '--set', set, '--state-dir', join(tmp, 'st')]);
      expect(r.status, set).toBe(2);
      expect(r.stderr).toContain(`--set ${set.split('=')[0]}: runbook 'simple' has no param '${set.split('=')[0]}'`);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it('a state dir that is a file: run, report, history and resume give one line and exit 2', () => {
    const file = write('state-file', '');
    for (const args of [['run', simple, '--no-tui'], ['report', 'latest'], ['history'], ['resume', 'latest']]) {
      const r = cli([...args, '--state-dir', file]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`state dir ${file} is a file, not a directory`);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('a state dir below a file (ENOTDIR) gives one line and exit 2', () => {
    const r = cli(['history', '--state-dir', join(tmp, 'simple.yaml', 'state')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^runbook: state dir .+: a part of the path is a file, not a directory\n$/);
  });

  it('a non-interactive run with gates and no --yes is refused before anything runs, listing them', () => {
    const f = write('gated.yaml', `runbook: gated\nphases:\n  - id: p\n    steps:\n      - id: first\n        irreversible: "marker"\n        shell: { run: "touch ${marker}" }\n      - id: ok\n        approve: { message: go }\n      - id: off\n        when: "false"\n        confirm: true\n        log: never\n`);
    const r = cli(['run', f, '--no-tui', '--state-dir', join(tmp, 'st2')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('gated.yaml:8:9: ok (approve)');
    expect(r.stderr).not.toContain('off (confirm)');
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(tmp, 'st2', 'runs')) ? readdirSync(join(tmp, 'st2', 'runs')) : []).toEqual([]);
  });

  it('--max-parallel must be a whole number ≥ 1 (flag, env or config): exit 2', () => {
    expect(cli(['run', simple, '--no-tui', '--max-parallel', '0', '--state-dir', join(tmp, 'st3')]).stderr).toContain('--max-parallel: expected a whole number of steps from 1 to 100000, got "0"');
    const r = cli(['run', simple, '--no-tui', '--state-dir', join(tmp, 'st3')], { RUNBOOK_MAX_PARALLEL: 'lots' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('runbook: RUNBOOK_MAX_PARALLEL: expected a whole number of steps from 1 to 100000, got "lots"\n');
    expect(existsSync(marker)).toBe(false);
  });

  it('--params-file (YAML or JSON) with --set over it; `params` lists the params', () => {
    const pf = write('params.json', JSON.stringify({ n: 'x' }));
    const bad = cli(['plan', simple, '--params-file', pf]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${pf}: n: expected an integer, got "x"`);
    const ok = cli(['plan', simple, '--params-file', pf, '--set', 'n=3', '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).params).toEqual({ n: 3, ports: [18081, 18082] });
    const yaml = write('params.yaml', 'ports: [1, 2]\n__proto__: 1\n');
    expect(cli(['plan', simple, '--params-file', yaml]).stderr).toContain("__proto__: runbook 'simple' has no param '__proto__'");
    const list = cli(['params', simple]);
    expect(list.stdout).toMatch(/ports +list of integer +\[18081,18082\]/);
    const help = cli(['run', simple, '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Params of runbook 'simple'");
  });
});

describe('list params: one type whichever way the value came', () => {
  it('--set ports=1,2 and the default [18081, 18082] both give numbers', () => {
    const m = loadRunbook(simple).model!;
    expect(allDiagnostics(loadRunbook(simple))).toEqual([]);
    expect(resolveParams(m, parseSets(['ports=18081,18082']).values, 'cli').values.ports).toEqual([18081, 18082]);
    expect(resolveParams(m, {}, 'cli').values.ports).toEqual([18081, 18082]);
    expect(resolveParams(m, parseSets(['ports=[1, 2]']).values, 'cli').values.ports).toEqual([1, 2]);
    expect(resolveParams(m, parseSets(['ports=1,x']).values, 'cli').diagnostics[0].message).toBe('--set ports: item 2: expected an integer, got "x"');
  });
});

describe('config precedence: file < RUNBOOK_* < flag', () => {
  const dir = join(tmp, 'cfg');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'runbook.config.yaml'), 'state: ./state\ninventory: inv.yaml\nmax_parallel: 8\ncolor: never\n');
  it('reads the file, relative to its folder', () => {
    const c = resolveConfig({}, { cwd: dir, env: {} });
    expect(c).toMatchObject({ state: join(dir, 'state'), inventory: join(dir, 'inv.yaml'), maxParallel: 8, color: 'never' });
    expect(c.source.maxParallel).toBe(join(dir, 'runbook.config.yaml'));
  });
  it('env wins over the file, a flag over both', () => {
    const env = { RUNBOOK_STATE: '/srv/state', RUNBOOK_MAX_PARALLEL: '16', RUNBOOK_COLOR: 'always', RUNBOOK_INVENTORY: '/etc/inv' };
    expect(resolveConfig({}, { cwd: dir, env })).toMatchObject({ state: '/srv/state', maxParallel: 16, color: 'always', inventory: '/etc/inv' });
    expect(resolveConfig({ stateDir: 'x', maxParallel: '2', color: false, inventory: 'i' }, { cwd: dir, env })).toMatchObject({ state: 'x', maxParallel: 2, color: 'never', inventory: 'i' });
  });
  it('defaults without a file; $XDG_CONFIG_HOME/runbook/runbook.config.yaml otherwise', () => {
    expect(resolveConfig({}, { cwd: tmp, env: { XDG_CONFIG_HOME: join(tmp, 'none') } })).toMatchObject({ state: '.runbook', maxParallel: 64, color: 'auto' });
    mkdirSync(join(tmp, 'xdg2', 'runbook'), { recursive: true });
    writeFileSync(join(tmp, 'xdg2', 'runbook', 'runbook.config.yaml'), 'max_parallel: 3\n');
    expect(resolveConfig({}, { cwd: tmp, env: { XDG_CONFIG_HOME: join(tmp, 'xdg2') } }).maxParallel).toBe(3);
  });
  it('an unknown setting or a bad value is a ConfigError naming the file', () => {
    const bad = join(tmp, 'cfg-bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'runbook.config.yaml'), 'max_paralel: 3\n');
    expect(() => resolveConfig({}, { cwd: bad, env: {} })).toThrow(ConfigError);
    expect(() => resolveConfig({}, { cwd: bad, env: {} })).toThrow("unknown setting 'max_paralel'");
  });
});
