/**
 * A failing terminal never stops a run, and a full journal disk still rolls back (spec §12,
 * issue 11 items 8–10): stdout closed (`| head -3`), stdout full (/dev/full), SIGHUP, and a state
 * dir on a 64k tmpfs. Each leaves the run going to its end — rollback and finally included, the lock
 * released, the journal complete — with one line on stderr and never a stack trace.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, CLI, eventually, findProcesses, isAlive, readJournalEvents, runCli, spawnCli } from '../helpers/cli.js';

let root: string;
const mounts: string[] = [];
const pids: number[] = [];
beforeAll(() => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-terminal-'));
});
afterAll(() => {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** a (rolled back) prints many lines, b fails: the run must roll a back and run finally. */
function failingRunbook(dir: string): string {
  const file = join(dir, 'rb.yaml');
  writeFileSync(
    file,
    `runbook: terminal
lock: terminal-${Math.random().toString(36).slice(2, 8)}
phases:
  - id: main
    steps:
      - id: a
        shell: { run: 'for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i; done; sleep 0.3' }
        rollback:
          shell: { run: 'touch "$WORK/a-undone"' }
      - id: b
        needs: [a]
        shell: { run: 'echo more; sleep 0.2; exit 3' }
finally:
  - id: cleanup
    shell: { run: 'touch "$WORK/finally-ran"' }
`,
  );
  return file;
}

function journalIn(state: string): RunEvent[] {
  const runs = readdirSync(join(state, 'runs'));
  expect(runs).toHaveLength(1);
  return readJournalEvents(join(state, 'runs', runs[0], 'journal.jsonl'));
}

function expectCompleteRollback(work: string, state: string): void {
  expect(existsSync(join(work, 'a-undone')), 'a was rolled back').toBe(true);
  expect(existsSync(join(work, 'finally-ran')), 'finally ran').toBe(true);
  const events = journalIn(state);
  expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'rolled_back' });
  expect(readdirSync(join(state, 'locks')).filter((f) => f.endsWith('.lock')), 'lock released').toEqual([]);
}

function shell(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    pids.push(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a failing terminal never stops a run', () => {
  it('stdout closed by `| head -3`: the run goes on, rolls back, runs finally, releases the lock', async () => {
    const work = mkdtempSync(join(root, 'epipe-'));
    const state = join(work, '.state');
    const file = failingRunbook(work);
    const r = await shell(`node "${CLI}" run "${file}" --no-tui --state-dir "${state}" | head -3; echo "exit=\${PIPESTATUS[0]}" >&2`, { WORK: work });
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(3);
    expect(r.stderr).toContain('exit=1');
    expect(r.stderr).not.toMatch(/\n\s+at |Error: write EPIPE/);
    expect(r.stderr).toMatch(/runbook: stdout failed \(EPIPE\): the run goes on, journaled; follow it with runbook attach \S+\n/);
    expectCompleteRollback(work, state);
  }, 30_000);

  it('stdout on /dev/full (ENOSPC): the same', async () => {
    const work = mkdtempSync(join(root, 'full-'));
    const state = join(work, '.state');
    const file = failingRunbook(work);
    const r = await shell(`node "${CLI}" run "${file}" --json --state-dir "${state}" > /dev/full; echo "exit=$?" >&2`, { WORK: work });
    expect(r.stderr).toContain('exit=1');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(/runbook: stdout failed \(ENOSPC\)/);
    expectCompleteRollback(work, state);
  }, 30_000);

  it('SIGHUP: the run goes on headless, its step is not left behind, attach shows it again', async () => {
    const work = mkdtempSync(join(root, 'hup-'));
    const state = join(work, '.state');
    const file = join(work, 'hup.yaml');
    writeFileSync(file, `runbook: hup\nlock: hup-${Date.now()}\nphases:\n  - id: main\n    steps:\n      - id: wait\n        shell: { run: 'sleep 2.31' }\n      - id: after\n        needs: [wait]\n        shell: { run: 'touch "$WORK/after-ran"' }\n`);
    const run = spawnCli(['run', file, '--no-tui', '--state-dir', state], { env: { WORK: work }, timeoutMs: 30_000 });
    pids.push(run.pid);
    expect(await eventually(() => findProcesses('sleep 2.31').length === 1, 10_000)).toBe(true);
    process.kill(run.pid, 'SIGHUP');
    const attach = spawnCli(['attach', 'latest', '--json', '--state-dir', state], { timeoutMs: 30_000 });
    pids.push(attach.pid);
    const [r, a] = await Promise.all([run.done, attach.done]);
    expect(r.signal).toBeNull();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the terminal hung up \(SIGHUP\): the run goes on without it/);
    expect(existsSync(join(work, 'after-ran'))).toBe(true);
    expect(a.code, a.stderr).toBe(0);
    expect(a.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(findProcesses('sleep 2.31')).toEqual([]);
    expect(readdirSync(join(state, 'locks')).filter((f) => f.endsWith('.lock'))).toEqual([]);
  }, 30_000);
});

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('skipping the full-disk test: mounting a tmpfs needs root');
describe.skipIf(!isRoot)('a journal that cannot grow (a 64k tmpfs as state dir)', () => {
  it('stops new steps, rolls back into the reserved space, journals it, one line, exit 1', async () => {
    const work = mkdtempSync(join(root, 'enospc-'));
    const state = join(work, 'state');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', state]);
    mounts.push(state);
    const file = join(work, 'fill.yaml');
    writeFileSync(
      file,
      `runbook: fill
phases:
  - id: main
    steps:
      - id: a
        shell: { run: 'echo a' }
        rollback:
          shell: { run: 'touch "$WORK/a-undone"' }
      - id: fill
        needs: [a]
        shell: { run: 'head -c 1000000 /dev/zero > "$STATE/filler" 2>/dev/null || true; head -c 9000 /dev/zero | tr "\\0" x' }
      - id: c
        needs: [fill]
        shell: { run: 'touch "$WORK/c-ran"' }
`,
    );
    const r = await runCli(['run', file, '--no-tui', '--state-dir', state], { env: { WORK: work, STATE: state }, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/journal .* cannot grow \(ENOSPC\): no new step starts; the rollback runs/);
    expect(existsSync(join(work, 'c-ran')), 'c did not run').toBe(false);
    expect(existsSync(join(work, 'a-undone')), "a's rollback ran").toBe(true);
    const events = journalIn(state);
    expect(events.find((e) => e.type === 'rollback.finished' && e.step === 'a')).toMatchObject({ status: 'succeeded' });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'rolled_back' });
    // Not torn: every line parses, so resume would not take it for in flight.
    const text = readFileSync(join(state, 'runs', readdirSync(join(state, 'runs'))[0], 'journal.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n').every((l) => JSON.parse(l))).toBe(true);
  }, 30_000);
});
