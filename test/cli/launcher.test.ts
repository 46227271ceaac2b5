/**
 * bin/runbook.cjs, the installed `runbook`: it runs the bundle (scripts/bundle.mjs) through a V8 code
 * cache per command (docs/startup.md). What the cache must never change: what the command does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers/cli.js';

const BIN = join(REPO, 'bin/runbook.cjs');
const bundled = existsSync(join(REPO, 'dist/runbook.bundle.cjs'));
const dir = mkdtempSync(join(tmpdir(), 'runbook-launcher-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runbook = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env, RUNBOOK_CODE_CACHE_DEBUG: '1' } });

if (!bundled && process.env.CI === 'true') throw new Error('dist/runbook.bundle.cjs is missing: npm run build makes it');
if (!bundled) console.log('skipped: dist/runbook.bundle.cjs not built (npm run build)');

describe.skipIf(!bundled)('bin/runbook.cjs', () => {
  writeFileSync(join(dir, 'ok.yaml'), 'runbook: ok\nphases:\n  - id: p\n    steps:\n      - id: a\n        shell: { run: "echo hello-$((6 * 7))" }\n');
  writeFileSync(join(dir, 'bad.yaml'), 'runbook: bad\nphases:\n  - id: p\n    steps:\n      - id: a\n        tiemout: 5s\n        log: hi\n');

  it('a second start-up of a command reads the cache the first one wrote, and does the same', () => {
    const first = runbook(['validate', 'bad.yaml']);
    const second = runbook(['validate', 'bad.yaml']);
    for (const r of [first, second]) {
      expect(r.status).toBe(2);
      expect(r.stderr).toContain("bad.yaml:6:9: step 'a': unknown key 'tiemout'");
    }
    expect(second.stderr).toMatch(/code cache accepted \(.*validate-/);
    expect(second.stderr.replace(/runbook: code cache.*\n/g, '')).toBe(first.stderr.replace(/runbook: code cache.*\n/g, ''));
  });

  it('runs a runbook the same with and without the cache (clients bundle and TUI stay out of a shell run)', () => {
    for (const env of [{}, {}, { RUNBOOK_CODE_CACHE: '0' }]) {
      const r = runbook(['run', 'ok.yaml', '--no-tui', '--state-dir', join(dir, 'state')], env);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('hello-42');
      // A shell-only run never reads the network clients' bundle.
      expect(r.stderr).not.toMatch(/code cache \w+ \(.*clients-/);
    }
    expect(runbook(['run', 'ok.yaml', '--no-tui', '--state-dir', join(dir, 'state')], { RUNBOOK_CODE_CACHE: '0' }).stderr).toMatch(/code cache off/);
  });

  it('--version answers from package.json without the bundle', () => {
    const r = runbook(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.stderr).toBe('');
  });
});
