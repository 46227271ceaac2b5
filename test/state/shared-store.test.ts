/**
 * The shared store (spec §10) through the real CLI and a real PostgreSQL: takeover after kill -9,
 * a frozen runner fenced, a partition (a TCP proxy we freeze), and bad input. Runner B is another
 * process with another working directory and another HOSTNAME; shell steps count their runs in
 * files, so "no finished step runs twice" is checked on the world, not on the journal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/interpreter/events.js';
import { MIGRATIONS } from '../../src/state/postgres/migrations.js';
import { assertBuilt, eventually, findProcesses, isAlive, runCli, runModuleScript, spawnCli, type CliProcess } from '../helpers/cli.js';
import { postgresUnavailableReason, usePostgres, type PgServer } from '../helpers/postgres.js';

const LEASE = '3s';
let root: string;
let server: PgServer;
const started: number[] = [];
let dbs = 0;

beforeAll(async () => {
  assertBuilt();
  root = mkdtempSync(join(tmpdir(), 'runbook-shared-'));
  server = (await usePostgres())!;
}, 60_000);
afterAll(async () => {
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const pid of findProcesses('sleep 31.5')) process.kill(pid, 'SIGKILL');
  await server?.stop();
  rmSync(root, { recursive: true, force: true });
}, 30_000);

async function freshDb(): Promise<string> {
  const name = `shared_${++dbs}`;
  await server.psql(`CREATE DATABASE ${name}`);
  return server.url.replace(/\/[^/]*$/, `/${name}`);
}

async function sql<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A machine: its own working directory and HOSTNAME, the shared counters folder. */
function machine(name: string, counters: string, extra: NodeJS.ProcessEnv = {}) {
  const cwd = join(root, `${name}-${dbs}-${Math.random().toString(36).slice(2, 6)}`);
  mkdirSync(cwd, { recursive: true });
  return { cwd, env: { HOSTNAME: name, COUNTERS: counters, ...extra } };
}

/** s1 → s2 (idempotent, sleeps $STEP_SLEEP) → s3; each appends a line to its counter file. */
function longRunbook(dir: string, lock: string): string {
  const file = join(dir, `${lock}.yaml`);
  writeFileSync(
    file,
    `runbook: ${lock}
lock: ${lock}
phases:
  - id: main
    steps:
      - id: s1
        shell: { run: 'echo x >> "$COUNTERS/s1"' }
      - id: s2
        needs: [s1]
        idempotent: true
        shell: { run: 'echo x >> "$COUNTERS/s2"; [ "$STEP_SLEEP" = 0 ] || sleep 31.5' }
      - id: s3
        needs: [s2]
        shell: { run: 'echo x >> "$COUNTERS/s3"' }
`,
  );
  return file;
}

const count = (counters: string, step: string) => (existsSync(join(counters, step)) ? readFileSync(join(counters, step), 'utf8').split('\n').filter(Boolean).length : 0);

function spawnTracked(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): CliProcess {
  const p = spawnCli(args, { ...opts, timeoutMs: 90_000 });
  started.push(p.pid);
  return p;
}

async function exportEvents(url: string, runId: string, cwd: string): Promise<RunEvent[]> {
  const r = await runCli(['export', runId, '--state', url], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as RunEvent);
}

function oneStory(events: RunEvent[]): void {
  expect(events[0].type).toBe('run.started');
  expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'run.finished')).toHaveLength(1);
  expect(events.at(-1)!.type).toBe('run.finished');
}

describe.skipIf(postgresUnavailableReason() !== undefined)('shared state store (PostgreSQL)', () => {
  it('takes a run over after kill -9: resume on another machine finishes it, no finished step runs twice, one run in history', async () => {
    const url = await freshDb();
    const counters = mkdtempSync(join(root, 'counters-'));
    const a = machine('machine-a', counters, { STEP_SLEEP: '1' });
    const b = machine('machine-b', counters, { STEP_SLEEP: '0' });
    const file = longRunbook(root, `takeover-${dbs}`);
    const runA = spawnTracked(['run', file, '--json', '--state', url, '--lease', LEASE], a);
    const s2 = await runA.waitForEvent((e) => e.type === 'step.started' && e.step === 's2', 20_000);
    // The step is running (its counter written) before the holder dies.
    expect(await eventually(() => count(counters, 's2') === 1, 5000)).toBe(true);
    runA.child.kill('SIGKILL');
    await runA.done;

    const r = await runCli(['resume', s2.run, '--json', '--state', url, '--lease', LEASE], { ...b, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(r.events.find((e) => e.type === 'run.resumed')).toMatchObject({ host: 'machine-b', epoch: 2 });
    // s1 finished on A and is not run again; s2 was in flight (idempotent) and runs again; s3 once.
    expect([count(counters, 's1'), count(counters, 's2'), count(counters, 's3')]).toEqual([1, 2, 1]);
    oneStory(await exportEvents(url, s2.run, b.cwd));

    for (const m of [a, b]) {
      const h = await runCli(['history', '--json', '--state', url], { cwd: m.cwd });
      const runs = JSON.parse(h.stdout) as { run: string; status: string }[];
      expect(runs, `history on ${m.env.HOSTNAME}`).toEqual([expect.objectContaining({ run: s2.run, status: 'succeeded' })]);
    }
  }, 90_000);

  it('fences a frozen runner: B takes over after the lease, A wakes up, starts nothing, exits 5, and its late writes are refused', async () => {
    const url = await freshDb();
    const counters = mkdtempSync(join(root, 'counters-'));
    const a = machine('machine-a', counters, { STEP_SLEEP: '1' });
    const b = machine('machine-b', counters, { STEP_SLEEP: '0' });
    const file = longRunbook(root, `frozen-${dbs}`);
    const runA = spawnTracked(['run', file, '--json', '--state', url, '--lease', LEASE], a);
    const s2 = await runA.waitForEvent((e) => e.type === 'step.started' && e.step === 's2', 20_000);
    expect(await eventually(() => count(counters, 's2') === 1, 5000)).toBe(true);
    process.kill(runA.pid, 'SIGSTOP');
    try {
      const r = await runCli(['resume', s2.run, '--json', '--state', url, '--lease', LEASE], { ...b, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    } finally {
      process.kill(runA.pid, 'SIGCONT');
    }
    const ra = await runA.done;
    expect(ra.code, ra.stderr).toBe(5);
    expect(ra.stderr).toMatch(/lost its lease/);
    expect(ra.stderr).not.toMatch(/\n\s+at /);
    // A started nothing after waking: s3 ran once (on B).
    expect([count(counters, 's1'), count(counters, 's3')]).toEqual([1, 1]);

    // Its late writes were refused by the fence and kept aside; none of epoch 1 follows epoch 2.
    const fenced = await sql<{ epoch: string; current_epoch: string; lines: string[] }>(url, 'SELECT epoch, current_epoch, lines FROM runbook.fenced_writes WHERE run = $1', [s2.run]);
    expect(fenced.length).toBeGreaterThan(0);
    expect(fenced[0]).toMatchObject({ epoch: '1', current_epoch: '2' });
    expect(fenced.flatMap((f) => f.lines).some((l) => l.includes('"FENCED"'))).toBe(true);
    const late = await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM runbook.events WHERE run = $1 AND epoch = 1 AND seq > (SELECT min(seq) FROM runbook.events WHERE run = $1 AND epoch = 2)', [s2.run]);
    expect(late[0].n).toBe('0');
    const events = await exportEvents(url, s2.run, b.cwd);
    oneStory(events);
    expect(events.filter((e) => e.type === 'run.resumed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'step.started' && e.step === 's3')).toHaveLength(1);
  }, 90_000);

  it('fences itself within the lease when the store is cut off (a frozen TCP proxy): no step starts after that', async () => {
    const url = await freshDb();
    const proxy = await startProxy(server.port);
    const counters = mkdtempSync(join(root, 'counters-'));
    const a = machine('machine-a', counters, { STEP_SLEEP: '1' });
    const file = longRunbook(root, `partition-${dbs}`);
    const viaProxy = url.replace(`:${server.port}/`, `:${proxy.port}/`);
    try {
      const runA = spawnTracked(['run', file, '--json', '--state', viaProxy, '--lease', LEASE], a);
      await runA.waitForEvent((e) => e.type === 'step.started' && e.step === 's2', 20_000);
      const cut = Date.now();
      process.kill(proxy.child.pid!, 'SIGSTOP');
      const ra = await runA.done;
      const fencedAfter = Date.now() - cut;
      expect(ra.code, ra.stderr).toBe(5);
      expect(ra.stderr).toMatch(/lost its lease/);
      // Fenced within the lease (3 s), plus the few seconds its last words and close may wait for the store.
      expect(fencedAfter).toBeLessThan(3000 + 6000);
      expect(count(counters, 's3')).toBe(0);
      expect(ra.events.some((e) => e.type === 'step.started' && e.step === 's3')).toBe(false);
    } finally {
      process.kill(proxy.child.pid!, 'SIGCONT');
      proxy.child.kill('SIGKILL');
    }
  }, 60_000);

  it('a live holder keeps its lock: a second run exits 4, and a resume of its run exits 4 (its heartbeat goes on)', async () => {
    const url = await freshDb();
    const counters = mkdtempSync(join(root, 'counters-'));
    const a = machine('machine-a', counters, { STEP_SLEEP: '1' });
    const b = machine('machine-b', counters, { STEP_SLEEP: '0' });
    const file = longRunbook(root, `live-${dbs}`);
    const runA = spawnTracked(['run', file, '--json', '--state', url, '--lease', LEASE], a);
    try {
      const s2 = await runA.waitForEvent((e) => e.type === 'step.started' && e.step === 's2', 20_000);
      const second = await runCli(['run', file, '--json', '--state', url, '--lease', LEASE], b);
      expect(second.code, second.stderr).toBe(4);
      expect(second.stderr).toMatch(new RegExp(`lock 'live-\\d+' is held by run ${s2.run} \\(pid ${runA.pid} on machine-a`));
      const resume = await runCli(['resume', s2.run, '--json', '--state', url, '--lease', LEASE], b);
      expect(resume.code, resume.stderr).toBe(4);
      expect(resume.stderr).toMatch(/it is alive \(its heartbeat goes on\): follow it with runbook attach/);
      expect(count(counters, 's1')).toBe(1);
    } finally {
      runA.child.kill('SIGKILL');
      await runA.done;
      for (const pid of findProcesses('sleep 31.5')) process.kill(pid, 'SIGKILL');
    }
  }, 60_000);

  it('moves a run between stores: export from the file store, import into PostgreSQL, and back', async () => {
    const url = await freshDb();
    const counters = mkdtempSync(join(root, 'counters-'));
    const state = mkdtempSync(join(root, 'file-state-'));
    const file = longRunbook(root, `move-${dbs}`);
    const r = await runCli(['run', file, '--json', '--state-dir', state], { cwd: root, env: { COUNTERS: counters, STEP_SLEEP: '0' } });
    expect(r.code, r.stderr).toBe(0);
    const runId = r.events[0].run;
    const jsonl = join(root, `${runId}.jsonl`);
    expect((await runCli(['export', 'latest', '--state-dir', state, '-o', jsonl], { cwd: root })).code).toBe(0);
    expect(readFileSync(jsonl, 'utf8')).toBe(r.stdout);
    const imp = await runCli(['import', jsonl, '--state', url], { cwd: root });
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain(`imported run ${runId} (${r.events.length} events)`);
    const h = JSON.parse((await runCli(['history', '--json', '--state', url], { cwd: root })).stdout);
    expect(h).toEqual([expect.objectContaining({ run: runId, status: 'succeeded' })]);
    const fromFile = await runCli(['report', runId, '--format', 'json', '--state-dir', state], { cwd: root });
    const fromPg = await runCli(['report', runId, '--format', 'json', '--state', url], { cwd: root });
    expect(fromPg.stdout).toBe(fromFile.stdout);
    // An import never merges.
    const again = await runCli(['import', jsonl, '--state', url], { cwd: root });
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/^runbook: run \S+ is already in the store/);
    // And back into an empty file store, byte for byte.
    const back = mkdtempSync(join(root, 'file-back-'));
    const out = join(root, `${runId}-pg.jsonl`);
    expect((await runCli(['export', runId, '--state', url, '-o', out], { cwd: root })).code).toBe(0);
    expect((await runCli(['import', out, '--state', `file:${back}`], { cwd: root })).code).toBe(0);
    expect(readFileSync(join(back, 'runs', runId, 'journal.jsonl'), 'utf8')).toBe(r.stdout);
  }, 60_000);

  it('migrates a store of the first schema version and keeps its runs', async () => {
    const url = await freshDb();
    await sql(url, MIGRATIONS[0].sql);
    await sql(url, 'INSERT INTO runbook.schema_version (version) VALUES (1)');
    const run = '20260101T000000Z-old-0001';
    const startedLine = JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', run, type: 'run.started', runbook: 'old', file: '/x.yaml', params: {}, objectives: {}, dry_run: false });
    const finishedLine = JSON.stringify({ ts: '2026-01-01T00:00:01.000Z', run, type: 'run.finished', status: 'succeeded', duration_ms: 1000, rto_met: null, measures: {} });
    await sql(url, "INSERT INTO runbook.runs (id, runbook, epoch) VALUES ($1, 'old', 1)", [run]);
    await sql(url, "INSERT INTO runbook.events (run, seq, epoch, type, line) VALUES ($1, 1, 1, 'run.started', $2), ($1, 2, 1, 'run.finished', $3)", [run, startedLine, finishedLine]);

    // A read-only command reads the old version as it is and migrates nothing.
    const h = await runCli(['history', '--json', '--state', url], { cwd: root });
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout)).toEqual([expect.objectContaining({ run, runbook: 'old', status: 'succeeded', duration_ms: 1000 })]);
    expect(await sql(url, 'SELECT version FROM runbook.schema_version')).toEqual([{ version: 1 }]);
    // A run migrates it, and both runs are there.
    const counters = mkdtempSync(join(root, 'counters-'));
    const ran = await runCli(['run', longRunbook(root, `upgrade-${dbs}`), '--json', '--state', url], { cwd: root, env: { COUNTERS: counters, STEP_SLEEP: '0' } });
    expect(ran.code, ran.stderr).toBe(0);
    const after = JSON.parse((await runCli(['history', '--json', '--state', url], { cwd: root })).stdout) as { run: string }[];
    expect(after.map((r) => r.run)).toEqual([ran.events[0].run, run]);
    const versions = await sql<{ version: number }>(url, 'SELECT version FROM runbook.schema_version ORDER BY version');
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await sql(url, 'SELECT * FROM runbook.fenced_writes')).toEqual([]);
    const r = await runCli(['export', run, '--state', url], { cwd: root });
    expect(r.stdout).toBe(`${startedLine}\n${finishedLine}\n`);
  }, 30_000);

  it("the store's worker does not take the process's node options (--input-type stopped it)", async () => {
    const url = await freshDb();
    const store = new URL('../../dist/src/state/postgres/index.js', import.meta.url).href;
    const script = `const { PostgresStore } = await import(${JSON.stringify(store)});
      const s = new PostgresStore(${JSON.stringify(url)});
      console.log('opened');
      s.close();`;
    const { code, stdout, stderr } = await runModuleScript(script);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('opened');
    // The store was really opened: its schema is there.
    expect(await sql(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'runbook'")).toEqual([{ nspname: 'runbook' }]);
  }, 30_000);

  it('read-only commands create nothing in a fresh database', async () => {
    const url = await freshDb();
    const h = await runCli(['history', '--state', url], { cwd: root });
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toMatch(/^no runs in postgres:\/\/postgres:\*\*\*@/);
    const r = await runCli(['report', 'latest', '--state', url], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^no runs in postgres:/);
    expect(await sql(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'runbook'")).toEqual([]);
  }, 30_000);

  describe('bad input: one line, the documented exit code, no step without a journal', () => {
    const cases: [string, () => Promise<string>, RegExp][] = [
      ['a bad URL', async () => 'postgres://', /bad state URL/],
      ['an unknown scheme', async () => 'mysql://db/x', /bad state URL .*file:<dir> or postgres:/],
      ['wrong credentials', async () => (await freshDb()).replace(/:[^:@/]+@/, ':wrong@'), /authentication failed/],
      ['an unreachable server', async () => server.url.replace(`:${server.port}/`, ':1/'), /cannot reach the server/],
      [
        'a store of a newer schema version',
        async () => {
          const url = await freshDb();
          for (const m of MIGRATIONS) await sql(url, m.sql);
          await sql(url, 'INSERT INTO runbook.schema_version (version) VALUES (99)');
          return url;
        },
        /schema version 99, newer than this runbook knows/,
      ],
    ];
    it.each(cases)('%s', async (_name, urlOf, message) => {
      const url = await urlOf();
      const counters = mkdtempSync(join(root, 'counters-'));
      const file = longRunbook(root, `bad-${dbs}-${Math.random().toString(36).slice(2, 6)}`);
      const r = await runCli(['run', file, '--json', '--state', url], { cwd: root, env: { COUNTERS: counters, STEP_SLEEP: '0' } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      // A password in the URL is never echoed.
      expect(r.stderr).not.toMatch(/:wrong@|:[A-Za-z0-9_-]{24}@/);
      expect(r.stdout).toBe('');
      expect(count(counters, 's1')).toBe(0);
    }, 30_000);
  });
});

/** A TCP proxy on loopback in its own process, so the test can freeze it (SIGSTOP). */
async function startProxy(target: number): Promise<{ child: ChildProcess; port: number }> {
  const code = `const net = require('net');
const s = net.createServer((c) => { const u = net.connect(${target}, '127.0.0.1'); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child.pid!);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('proxy exited')));
  });
  return { child, port };
}
