// `postgres.via` (spec §9) against a real PostgreSQL listening on 127.0.0.1 only, reached through real
// sshd "hosts": rows come back, the server's client is the sshd session on the host (not us), every
// pg client of the pool rides on the host's one ssh connection, a timeout still cancels the statement
// on the server (from a second session, or with a protocol cancel request, both through the tunnel),
// and what cannot be reached is named: the database target and the host. Then through the CLI: a run,
// `plan --preflight`, and a stopped sshd.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresConnection, sqlStep, type PostgresConnectionConfig } from '../../src/steps/sql/index.js';
import { sshConnection, type SshHosts } from '../../src/steps/ssh/index.js';
import type { SshConnectionConfig } from '../../src/transport/ssh/schema.js';
import { SshPool } from '../../src/transport/ssh/pool.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';
import { postgresUnavailableReason, usePostgresForSuite, type PgServer } from '../helpers/postgres.js';
import { descendantsOf, startProxy, stopProcess, useSshd, type SshdCluster } from '../helpers/sshd.js';
import { fingerprint } from '../../src/transport/ssh/host-key.js';
import { establishedTo, ownerOf } from '../helpers/sockets.js';
import { runCli } from '../helpers/cli.js';

const sshd = await useSshd(2);

async function waitFor(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); ) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
const pgSkip = sshd.skip ? 'no sshd' : postgresUnavailableReason();
const root = mkdtempSync(join(tmpdir(), 'rb-pg-ssh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sshConfig = (c: SshdCluster, i: number): SshConnectionConfig => ({
  host: c.hosts[i].address,
  port: c.hosts[i].port,
  user: c.user,
  key_file: c.keyFile,
  known_hosts: c.knownHosts,
  connect_timeout: '5s',
  keepalive: '1s',
});

describe.skipIf(sshd.skip || pgSkip !== undefined)('postgres via an ssh connection', () => {
  const pgServer = usePostgresForSuite();
  const ssh = new SshPool();
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await ssh.close(0);
  });

  /** A step context whose `db` is `config` tunnelled through `db-host` (host i of the cluster). */
  function context(config: Omit<PostgresConnectionConfig, 'via'>, o: { host?: number; ssh?: SshConnectionConfig; signal?: AbortSignal } = {}) {
    const c = sshd.cluster;
    const runId = `t${Math.random().toString(36).slice(2, 8)}`;
    const services = { ssh };
    const openCtx = { runId, baseDir: root, env: process.env, services };
    const sshHosts = Promise.resolve(sshConnection.open(o.ssh ?? sshConfig(c, o.host ?? 0), { ...openCtx, name: 'db-host' })) as Promise<SshHosts>;
    const h = stepHarness({
      runId,
      signal: o.signal,
      connections: {
        kind: 'postgres',
        open: async () => {
          const pool = await postgresConnection.open(
            { ...config, via: 'db-host' },
            { ...openCtx, name: 'db', connection: <T>(name: string, kind: string | readonly string[]) => (name === 'db-host' && kind === 'ssh' ? (sshHosts as Promise<T>) : Promise.reject(new Error(`unexpected ${name}`))) },
          );
          pools.push(pool);
          return pool;
        },
      },
    });
    return { ...h, runId, pool: () => h.ctx.connection<pg.Pool>('db', 'postgres') };
  }

  const dbConfig = (s: PgServer, over: Partial<PostgresConnectionConfig> = {}): PostgresConnectionConfig => ({
    url: `postgres://${s.user}@127.0.0.1:${s.port}/${s.database}`,
    password: s.password,
    ...over,
  });

  async function admin(sql: string, values: unknown[] = []) {
    const client = new pg.Client({ connectionString: pgServer.get().url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('returns rows, and the server’s client is the sshd session on the host', async () => {
    const c = sshd.cluster;
    const { ctx } = context(dbConfig(pgServer.get()));
    const r = await sqlStep.execute({ connection: 'db', query: 'SELECT $1::int + 40 AS n, inet_client_port() AS port', params: [2] }, ctx);
    expect(r).toMatchObject({ rows: [{ n: 42, port: expect.any(Number) }], row_count: 1, command: 'SELECT' });
    // The client end of the server's connection is held by an sshd process of host 1's listener.
    const owner = ownerOf({ address: '127.0.0.1', port: (r.rows as { port: number }[])[0].port }, { address: '127.0.0.1', port: pgServer.get().port });
    expect(owner?.comm).toBe('sshd');
    expect(descendantsOf([c.hosts[0].process.pid!])).toContain(owner!.pid);
  });

  it('every client of the pool rides on the host’s one ssh connection', async () => {
    const c = sshd.cluster;
    const { ctx } = context(dbConfig(pgServer.get(), { max: 4 }));
    const results = await Promise.all(
      Array.from({ length: 4 }, () => sqlStep.execute({ connection: 'db', query: 'SELECT pg_backend_pid() AS pid, pg_sleep(0.3)::text AS slept' }, ctx)),
    );
    const pids = new Set(results.map((r) => (r.rows as { pid: number }[])[0].pid));
    expect(pids.size).toBe(4);
    expect(establishedTo(c.hosts[0].address, c.hosts[0].port)).toBe(1);
  });

  it('a timeout cancels the statement on the server, through the tunnel', async () => {
    const { ctx, runId } = context(dbConfig(pgServer.get()), { signal: AbortSignal.timeout(1500) });
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT pg_sleep(60)' }, ctx));
    expect(failure.code).toBe('STEP_TIMEOUT');
    expect(failure.message).toMatch(/^cancelled \(timeout\): statement cancelled on the server \(pg_cancel_backend \d+\)$/);
    expect(await admin("SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'", [`runbook:${runId}`])).toEqual([]);
  });

  it('without a second session, the protocol cancel request goes through the tunnel too', async () => {
    const s = pgServer.get();
    await admin("CREATE ROLE tunnelled LOGIN PASSWORD 'tunnelled-pw' CONNECTION LIMIT 1");
    const { ctx, output, pool } = context({ host: '127.0.0.1', port: s.port, user: 'tunnelled', database: s.database, password: 'tunnelled-pw' }, { signal: AbortSignal.timeout(1500) });
    // 127.0.0.1 is reachable from here too: count the tunnels opened to know the cancel took one.
    const options = (await pool()).options as { stream: () => unknown };
    const tunnel = options.stream;
    let tunnels = 0;
    options.stream = () => (tunnels++, tunnel());
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT pg_sleep(60)' }, ctx));
    expect(failure.message).toMatch(/^cancelled \(timeout\): statement cancelled on the server \(protocol cancel request to backend \d+\)$/);
    expect(output.map((o) => o.text)).toContainEqual(expect.stringMatching(/^pg_cancel_backend impossible \(too many connections for role "tunnelled"\)/));
    // the step's session, the refused second session, the cancel request
    expect(tunnels).toBe(3);
    expect(await admin("SELECT pid FROM pg_stat_activity WHERE usename = 'tunnelled' AND state = 'active'")).toEqual([]);
  });

  it('a server the host cannot reach: the error names the database target and the host', async () => {
    const c = sshd.cluster;
    const s = pgServer.get();
    const { ctx } = context({ url: `postgres://${s.user}@127.0.0.1:1/${s.database}`, password: s.password });
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT 1' }, ctx));
    expect(failure.message).toBe(`cannot connect to postgres 127.0.0.1:1/${s.database} via db-host: ${c.hosts[0].address} could not open 127.0.0.1:1 (Connection refused)`);
    expect(failure.message).not.toContain(s.password);
  });

  it('a unix socket folder as host is the server’s socket on the host (direct-streamlocal)', async () => {
    const s = pgServer.get();
    // The ssh user may enter the socket's folders (traverse only), as anyone may enter /var/run/postgresql.
    for (const d of [dirname(s.socketDir), s.socketDir]) chmodSync(d, 0o711);
    const { ctx } = context({ host: s.socketDir, port: s.port, user: s.user, database: s.database });
    const r = await sqlStep.execute({ connection: 'db', query: "SELECT coalesce(inet_client_addr()::text, 'unix socket') AS via" }, ctx);
    expect(r.rows).toEqual([{ via: 'unix socket' }]);
  });

  it('a partition mid-statement fails the step with "connection lost", naming the target and the host', async () => {
    const c = sshd.cluster;
    const s = pgServer.get();
    const h = c.hosts[0];
    const proxy = await startProxy(h.address, h.port);
    try {
      const hostKey = fingerprint(Buffer.from(h.publicKey.split(' ')[1], 'base64'));
      const { ctx } = context(dbConfig(s), { ssh: { ...sshConfig(c, 0), port: proxy.port, known_hosts: undefined, host_key: hostKey } });
      const running = sqlStep.execute({ connection: 'db', query: 'SELECT pg_sleep(30)' }, ctx);
      await waitFor(async () => (await admin("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'")).length > 0);
      process.kill(proxy.process.pid!, 'SIGSTOP');
      const t0 = Date.now();
      const failure = await failureOf(running);
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(failure.message).toBe(`postgres 127.0.0.1:${s.port}/${s.database} via db-host: connection lost to ${h.address}: no answer to 3 keepalives 1s apart`);
    } finally {
      process.kill(proxy.process.pid!, 'SIGCONT');
      await stopProcess(proxy.process);
    }
  });

  it('via an ssh connection of several hosts is refused, naming both connections', async () => {
    const runId = 'several';
    const opened: SshHosts = { name: 'web', hosts: [], host: () => { throw new Error('not reached'); } };
    opened.hosts.length = 2;
    const err = await Promise.resolve(
      postgresConnection.open(dbConfig(pgServer.get(), { via: 'web' }), { name: 'db', runId, baseDir: root, env: {}, connection: async <T>() => opened as T }),
    ).then(() => undefined, (e: Error) => e);
    expect(err?.message).toBe("postgres connection 'db': via 'web' stands for 2 hosts; a tunnel goes through exactly one");
  });
});

describe.skipIf(sshd.skip || pgSkip !== undefined)('postgres via, through the CLI', () => {
  const pgServer = usePostgresForSuite();

  function runbook(c: SshdCluster, i: number): { file: string; env: NodeJS.ProcessEnv } {
    const s = pgServer.get();
    const dir = mkdtempSync(join(root, 'cli-'));
    const file = join(dir, 'rb.yaml');
    const h = c.hosts[i];
    writeFileSync(
      file,
      `runbook: pg-over-ssh
secrets:
  pgpw: { env: RB_TEST_PGPW }
connections:
  db-host: { ssh: { host: ${h.address}, port: ${h.port}, user: ${c.user}, key_file: ${JSON.stringify(c.keyFile)}, known_hosts: ${JSON.stringify(c.knownHosts)}, connect_timeout: 3s } }
  db: { postgres: { url: "postgres://${s.user}@127.0.0.1:${s.port}/${s.database}", password: "\${{ secrets.pgpw }}", via: db-host, connect_timeout: 5s } }
phases:
  - id: check
    steps:
      - id: count
        sql: { connection: db, query: "SELECT count(*)::int AS n FROM generate_series(1, 7)" }
        outputs: { n: "\${{ result.rows[0].n }}" }
`,
    );
    return { file, env: { RB_TEST_PGPW: s.password } };
  }

  const finished = (events: RunEvent[], step: string) => events.find((e): e is Extract<RunEvent, { type: 'step.finished' }> => e.type === 'step.finished' && e.step === step);

  it('a run’s sql step returns rows through the tunnel, and plan --preflight connects through it', async () => {
    const c = sshd.cluster;
    const { file, env } = runbook(c, 0);
    const r = await runCli(['run', file, '--json', '--state-dir', join(root, 'state')], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r.events, 'count')).toMatchObject({ status: 'succeeded', outputs: { n: 7 }, result: { rows: [{ n: 7 }] } });
    const plan = await runCli(['plan', file, '--preflight', '--json'], { env });
    expect(plan.code, plan.stderr).toBe(0);
    const checks = (JSON.parse(plan.stdout) as { preflight: { target: string; ok: boolean; detail: string }[] }).preflight;
    const s = pgServer.get();
    expect(checks).toContainEqual({
      target: `connection db (postgres) 127.0.0.1:${s.port}/${s.database} via db-host`,
      ok: true,
      detail: expect.stringMatching(new RegExp(`^connected as ${s.user} to ${s.database} \\(PostgreSQL 1\\d`)),
    });
  });

  it('a stopped sshd: the step fails naming the database and the host, and preflight says the same', async () => {
    const c = sshd.cluster;
    const h = c.hosts[1];
    await stopProcess(h.process);
    const { file, env } = runbook(c, 1);
    const s = pgServer.get();
    const why = `cannot connect to postgres 127.0.0.1:${s.port}/${s.database} via db-host: ssh ${h.address}:${h.port}: connection refused (is sshd listening on port ${h.port}?)`;
    const r = await runCli(['run', file, '--json', '--state-dir', join(root, 'state')], { env });
    expect(r.code).toBe(1);
    expect(finished(r.events, 'count')).toMatchObject({ status: 'failed', error: why });
    const plan = await runCli(['plan', file, '--preflight', '--json'], { env });
    expect(plan.code).toBe(1);
    const checks = (JSON.parse(plan.stdout) as { preflight: { target: string; ok: boolean; detail: string }[] }).preflight;
    expect(checks).toContainEqual({ target: expect.stringMatching(/^connection db \(postgres\)/), ok: false, detail: why });
  });
});
