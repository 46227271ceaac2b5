/**
 * `runbook attach` (spec §10) from second processes, for both stores: it shows the live steps of a
 * running run — the events so far, then live ones — and ends at run.finished with the run's exit
 * code. Several attachers at once see the same story as the journal; attaching changes nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { assertBuilt, isAlive, journalOf, runCli, spawnCli, tsOf } from '../helpers/cli.js';
import { postgresUnavailableReason, usePostgres, type PgServer } from '../helpers/postgres.js';

let root: string;
let server: PgServer | undefined;
const pids: number[] = [];
const stores = postgresUnavailableReason() === undefined ? ['file', 'postgres'] : ['file'];
let dbs = 0;

beforeAll(async () => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-attach-'));
  if (stores.includes('postgres')) server = await usePostgres();
}, 60_000);
afterAll(async () => {
  for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
});

async function stateArgs(kind: string): Promise<string[]> {
  if (kind === 'file') return ['--state-dir', mkdtempSync(join(root, 'state-'))];
  const name = `attach_${++dbs}`;
  await server!.psql(`CREATE DATABASE ${name}`);
  return ['--state', server!.url.replace(/\/[^/]*$/, `/${name}`)];
}

describe.each(stores)('attach, %s store', (kind) => {
  it('follows a running run from other processes: live steps, then run.finished', async () => {
    const file = join(root, `live-${kind}.yaml`);
    writeFileSync(
      file,
      `runbook: attach-${kind}
phases:
  - id: main
    steps:
      - id: first
        shell: { run: 'echo first-line; sleep 1.2' }
      - id: second
        needs: [first]
        shell: { run: 'echo second-line; sleep 0.8' }
      - id: third
        needs: [second]
        log: done
`,
    );
    const state = await stateArgs(kind);
    const run = spawnCli(['run', file, '--json', ...state], { timeoutMs: 60_000 });
    pids.push(run.pid);
    const first = await run.waitForEvent((e) => e.type === 'step.output' && e.step === 'first', 20_000);
    const attachedAt = Date.now();
    const followers = [spawnCli(['attach', first.run, '--json', ...state], { timeoutMs: 60_000 }), spawnCli(['attach', 'latest', '--json', ...state], { timeoutMs: 60_000 })];
    const plain = spawnCli(['attach', first.run, '--no-tui', ...state], { timeoutMs: 60_000 });
    pids.push(...followers.map((f) => f.pid), plain.pid);
    const [r, ...rs] = await Promise.all([run.done, ...followers.map((f) => f.done), plain.done]);
    expect(r.code, r.stderr).toBe(0);

    const journal: RunEvent[] =
      kind === 'file'
        ? readFileSync(journalOf(state[1], first.run), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
        : (await runCli(['export', first.run, ...state])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const f of rs.slice(0, 2)) {
      expect(f.code, f.stderr).toBe(0);
      // The events so far, then the live ones: exactly the journal, ending at run.finished.
      expect(f.events).toEqual(journal);
      expect(f.events.at(-1)!.type).toBe('run.finished');
    }
    // Live, not replayed at the end: second started after the attachers began following.
    const second = journal.find((e) => e.type === 'step.started' && e.step === 'second')!;
    expect(tsOf(second)).toBeGreaterThan(attachedAt - 50);
    const p = rs[2];
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toContain('second-line');
    expect(p.stdout).toMatch(/third/);
  }, 60_000);

  it('ends with a one-line note when the run has no runner any more', async () => {
    const state = await stateArgs(kind);
    const file = join(root, `dead-${kind}.yaml`);
    writeFileSync(file, `runbook: dead-${kind}\nphases:\n  - id: main\n    steps:\n      - id: long\n        shell: { run: 'sleep 30.7' }\n`);
    const run = spawnCli(['run', file, '--json', '--lease', '2s', ...state], { timeoutMs: 60_000 });
    pids.push(run.pid);
    const s = await run.waitForEvent((e) => e.type === 'step.started', 20_000);
    await new Promise((res) => setTimeout(res, 300));
    run.child.kill('SIGKILL');
    await run.done;
    const a = await runCli(['attach', s.run, '--no-tui', ...state], { timeoutMs: 30_000 });
    expect(a.code).toBe(1);
    expect(a.stderr.trim()).toMatch(new RegExp(`^runbook: run ${s.run}: the run is not running any more .*runbook resume ${s.run}`));
    // Orphaned step of the killed runner.
    const resumed = await runCli(['resume', s.run, '--skip-inflight', '--json', ...state], { timeoutMs: 30_000, env: { HOSTNAME: '' } });
    expect(resumed.code, resumed.stderr).toBe(0);
  }, 60_000);
});
