import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startPostgres } from '../../examples/sandbox/services/postgres.js';
import { MAX_ROWS, postgresConnection, renderSql, sqlStep, type PostgresConnectionConfig, type SqlBody } from '../../src/steps/sql/index.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';
import { postgresUnavailableReason, usePostgresForSuite, type PgServer } from '../helpers/postgres.js';

const skipReason = postgresUnavailableReason();

/** A step's context whose connections are real pools opened through postgresConnection. */
function makeContext(connections: Record<string, PostgresConnectionConfig>, signal?: AbortSignal) {
  const runId = `t${Math.random().toString(36).slice(2, 10)}`;
  const pools = new Map<string, Promise<unknown>>();
  const h = stepHarness({
    runId,
    signal,
    connections: {
      kind: 'postgres',
      cache: pools,
      open: (name) => {
        const config = connections[name];
        if (!config) throw new Error(`no connection ${name}`);
        return postgresConnection.open(config, { runId, baseDir: process.cwd(), env: process.env });
      },
    },
  });
  // A pool that failed to open has nothing to close.
  const close = () =>
    Promise.all([...pools.values()].map(async (p) => {
      const pool = (await p.catch(() => undefined)) as pg.Pool | undefined;
      if (pool) await postgresConnection.close!(pool);
    }));
  return { ...h, runId, close };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

describe.skipIf(skipReason !== undefined)('sql step against a real PostgreSQL', () => {
  const pgServer = usePostgresForSuite();
  const contexts: { close(): Promise<unknown> }[] = [];
  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
  });

  /** A context whose `db` connection is the suite's server (url without password + password field, as in the spec). */
  function dbContext(signal?: AbortSignal) {
    const s = pgServer.get();
    const c = makeContext({ db: { url: `postgres://${s.user}@127.0.0.1:${s.port}/${s.database}`, password: s.password } }, signal);
    contexts.push(c);
    return c;
  }

  async function admin(server: PgServer, sql: string, values: unknown[] = []) {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query(sql, values)).rows;
    } finally {
      await client.end();
    }
  }

  it('runs a query with bind params; an injection attempt through params stays data', async () => {
    const { ctx, output } = dbContext();
    await sqlStep.execute({ connection: 'db', script: 'CREATE TABLE notes (id int PRIMARY KEY, body text)' }, ctx);
    const evil = "x'); DROP TABLE notes; --";
    const inserted = await sqlStep.execute(
      { connection: 'db', query: 'INSERT INTO notes VALUES ($1, $2) RETURNING id, body', params: [1, evil] },
      ctx,
    );
    expect(inserted).toEqual({
      rows: [{ id: 1, body: evil }],
      row_count: 1,
      fields: [
        { name: 'id', type_id: 23 },
        { name: 'body', type_id: 25 },
      ],
      command: 'INSERT',
    });
    const sum = await sqlStep.execute({ connection: 'db', query: 'SELECT $1::int + $2::int AS sum', params: [2, 3] }, ctx);
    expect(sum).toMatchObject({ rows: [{ sum: 5 }], row_count: 1, command: 'SELECT' });
    expect(await admin(pgServer.get(), 'SELECT id, body FROM notes')).toEqual([{ id: 1, body: evil }]);
    expect(output).toContainEqual(expect.objectContaining({ stream: 'info', text: expect.stringMatching(/^1 row inserted \(\d+ ms\)$/) }));
    expect(output).toContainEqual(expect.objectContaining({ stream: 'info', text: expect.stringMatching(/^1 row \(\d+ ms\)$/) }));
    expect(output).toContainEqual(expect.objectContaining({ stream: 'info', text: expect.stringMatching(/^CREATE done \(\d+ ms\)$/) }));
  });

  it('runs a script creating and filling a table, then a query checks the rows', async () => {
    const { ctx, output } = dbContext();
    const script = `
      CREATE TABLE trades (id int PRIMARY KEY, sym text NOT NULL, qty int8);
      INSERT INTO trades VALUES (1, 'ACME', 10), (2, 'INIT', 20), (3, 'ZED', 9007199254740993);
      SELECT count(*) AS n FROM trades;`;
    expect(await sqlStep.execute({ connection: 'db', script }, ctx)).toEqual({
      rows: [{ n: 3 }],
      row_count: 1,
      fields: [{ name: 'n', type_id: 20 }],
      command: 'SELECT',
      statements: 3,
    });
    // the summary is what came back, never the command tag (`SELECT 1` reads like the query)
    expect(output).toContainEqual(expect.objectContaining({ stream: 'info', text: expect.stringMatching(/^3 statements, last: 1 row \(\d+ ms\)$/) }));
    const rows = await sqlStep.execute({ connection: 'db', query: 'SELECT id, sym, qty FROM trades ORDER BY id' }, ctx);
    // int8 becomes a number when it is exact, else stays text.
    expect(rows.rows).toEqual([
      { id: 1, sym: 'ACME', qty: 10 },
      { id: 2, sym: 'INIT', qty: 20 },
      { id: 3, sym: 'ZED', qty: '9007199254740993' },
    ]);
  });

  it('rolls a failed transaction back, leaving the table unchanged', async () => {
    const { ctx } = dbContext();
    await sqlStep.execute({ connection: 'db', script: "CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts VALUES (1), (2);" }, ctx);
    const failure = await failureOf(
      sqlStep.execute(
        { connection: 'db', script: 'INSERT INTO accounts VALUES (10);\nUPDATE accounts SET id = id + 100;\nINSERT INTO accounts VALUES (101);', transaction: true },
        ctx,
      ),
    );
    expect(failure.message).toMatch(/^ERROR 23505: duplicate key value violates unique constraint "accounts_pkey"/);
    expect(failure.message).toContain('(transaction rolled back)');
    expect(failure.code).toBe('SQL_ERROR');
    expect(await admin(pgServer.get(), 'SELECT id FROM accounts ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
    // And a successful transaction commits.
    const ok = await sqlStep.execute({ connection: 'db', query: 'INSERT INTO accounts VALUES ($1)', params: [3], transaction: true }, ctx);
    expect(ok).toMatchObject({ command: 'INSERT', row_count: 1 });
    expect(await admin(pgServer.get(), 'SELECT count(*)::int AS n FROM accounts')).toEqual([{ n: 3 }]);
  });

  it('reports SQL errors with SQLSTATE and the line/column of the position', async () => {
    const { ctx } = dbContext();
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT *\n  FROM missing_table' }, ctx));
    expect(failure.message).toBe('ERROR 42P01: relation "missing_table" does not exist at line 2, col 8');
    expect(failure.result).toEqual({ sqlstate: '42P01', severity: 'ERROR', position: 17, line: 2, col: 8 });
    // `query` is exactly one statement.
    const two = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT 1; SELECT 2' }, ctx));
    expect(two.message).toBe('ERROR 42601: cannot insert multiple commands into a prepared statement');
  });

  it('keeps the first 1000 rows, counts them all, keeps dates as text and forwards NOTICEs', async () => {
    const { ctx, output } = dbContext();
    const many = await sqlStep.execute({ connection: 'db', query: 'SELECT g FROM generate_series(1, 1500) g' }, ctx);
    expect((many.rows as unknown[]).length).toBe(MAX_ROWS);
    expect(many).toMatchObject({ row_count: 1500, rows_truncated: true });
    const typed = await sqlStep.execute(
      { connection: 'db', query: "SELECT DATE '2024-02-29' AS d, TIMESTAMP '2024-01-02 03:04:05' AS ts, 12.50::numeric AS amount" },
      ctx,
    );
    expect(typed.rows).toEqual([{ d: '2024-02-29', ts: '2024-01-02 03:04:05', amount: '12.50' }]);
    await sqlStep.execute({ connection: 'db', script: "DO $$ BEGIN RAISE NOTICE 'replica lag %', 42; END $$" }, ctx);
    expect(output).toContainEqual(expect.objectContaining({ stream: 'info', text: 'NOTICE: replica lag 42' }));
  });

  it('a timeout cancels the statement on the server', async () => {
    const { ctx, runId } = dbContext(AbortSignal.timeout(1000));
    const started = Date.now();
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT pg_sleep(60)' }, ctx));
    const elapsed = Date.now() - started;
    expect(failure.code).toBe('STEP_TIMEOUT');
    expect(failure.message).toMatch(/^cancelled \(timeout\): statement cancelled on the server \(pg_cancel_backend \d+\)$/);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(2000);
    const active = await admin(
      pgServer.get(),
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'",
      [`runbook:${runId}`],
    );
    expect(active).toEqual([]);
  });

  it('an abort inside a transaction cancels it and leaves nothing behind', async () => {
    const { ctx, controller } = dbContext();
    await sqlStep.execute({ connection: 'db', script: 'CREATE TABLE jobs (id int)' }, ctx);
    const running = sqlStep.execute({ connection: 'db', script: 'INSERT INTO jobs VALUES (1); SELECT pg_sleep(60);', transaction: true }, ctx);
    setTimeout(() => controller.abort(new Error('operator abort')), 500);
    const failure = await failureOf(running);
    expect(failure.code).toBe('STEP_CANCELLED');
    expect(failure.message).toMatch(/^cancelled \(operator abort\): statement cancelled on the server .*; transaction rolled back$/);
    expect(await admin(pgServer.get(), 'SELECT count(*)::int AS n FROM jobs')).toEqual([{ n: 0 }]);
    // An already-aborted signal stops before anything is sent.
    const again = await failureOf(sqlStep.execute({ connection: 'db', query: 'INSERT INTO jobs VALUES (2)' }, ctx));
    expect(again.code).toBe('STEP_CANCELLED');
    expect(await admin(pgServer.get(), 'SELECT count(*)::int AS n FROM jobs')).toEqual([{ n: 0 }]);
  });

  it('cancels with a protocol cancel request when no second session can be opened', async () => {
    const s = pgServer.get();
    await admin(s, "CREATE ROLE limited LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT 1");
    const c = makeContext({ db: { host: '127.0.0.1', port: s.port, user: 'limited', database: s.database, password: 'limited-pw' } }, AbortSignal.timeout(700));
    contexts.push(c);
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT pg_sleep(60)' }, c.ctx));
    expect(failure.message).toMatch(/^cancelled \(timeout\): statement cancelled on the server \(protocol cancel request to backend \d+\)$/);
    expect(c.output).toContainEqual({
      at: expect.any(Number),
      stream: 'info',
      text: expect.stringMatching(/^pg_cancel_backend impossible \(too many connections for role "limited"\): sent a protocol cancel request/),
    });
    expect(await admin(s, "SELECT pid FROM pg_stat_activity WHERE usename = 'limited' AND state = 'active'")).toEqual([]);
  });

  it('connection refused names host:port/database', async () => {
    const port = await closedPort();
    const c = makeContext({ gone: { host: '127.0.0.1', port, user: 'postgres', database: 'app', password: 'sekret-pw' } });
    contexts.push(c);
    const failure = await failureOf(sqlStep.execute({ connection: 'gone', query: 'SELECT 1' }, c.ctx));
    expect(failure.message).toBe(
      `cannot connect to postgres 127.0.0.1:${port}/app: connection refused (is the server running and listening there?) (ECONNREFUSED)`,
    );
    expect(failure.code).toBe('PG_UNREACHABLE');
  });

  it('a bad password names the target and never the password', async () => {
    const s = pgServer.get();
    const wrong = 'Wr0ng-Pa55word';
    const c = makeContext({ db: { url: `postgres://${s.user}:${wrong}@127.0.0.1:${s.port}/${s.database}` } });
    contexts.push(c);
    const failure = await failureOf(sqlStep.execute({ connection: 'db', query: 'SELECT 1' }, c.ctx));
    expect(failure.message).toBe(
      `cannot connect to postgres 127.0.0.1:${s.port}/app: password authentication failed for user "${s.user}" (28P01)`,
    );
    expect(failure.code).toBe('PG_AUTH');
    expect(failure.message).not.toContain(wrong);
    expect(postgresConnection.describe!({ url: `postgres://${s.user}:${wrong}@127.0.0.1:${s.port}/app` })).toBe(`127.0.0.1:${s.port}/app`);
  });

  it('preflight reports the role, database and version, or why it cannot connect', async () => {
    const s = pgServer.get();
    const config: PostgresConnectionConfig = { url: s.url };
    const pool = await postgresConnection.open(config, { runId: 'pre', baseDir: '.', env: {} });
    try {
      expect(await postgresConnection.preflight!(pool, config)).toEqual({
        target: `127.0.0.1:${s.port}/app`,
        ok: true,
        detail: expect.stringMatching(/^connected as postgres to app \(PostgreSQL 15\.\d+\)$/),
      });
    } finally {
      await postgresConnection.close!(pool);
    }
    const port = await closedPort();
    const badConfig: PostgresConnectionConfig = { host: '127.0.0.1', port: String(port), database: 'app', user: 'x', connect_timeout: '2s' };
    const bad = await postgresConnection.open(badConfig, { runId: 'pre', baseDir: '.', env: {} });
    try {
      expect(await postgresConnection.preflight!(bad, badConfig)).toEqual({
        target: `127.0.0.1:${port}/app`,
        ok: false,
        detail: `cannot connect to postgres 127.0.0.1:${port}/app: connection refused (is the server running and listening there?) (ECONNREFUSED)`,
      });
    } finally {
      await postgresConnection.close!(bad);
    }
  });
});

describe('sql step without a server', () => {
  it('renders a one-liner', () => {
    expect(renderSql({ connection: 'db', query: 'SELECT *\n  FROM trades WHERE id = $1 AND sym = $2', params: [1, 'x'] })).toBe(
      'sql db: SELECT * FROM trades WHERE id = $1 AND sym = $2 (2 params)',
    );
    const long: SqlBody = { connection: 'db', script: `UPDATE trades SET status = 'halted' WHERE venue IN ('XLON', 'XPAR', 'XETR');`, transaction: true };
    expect(sqlStep.render(long)).toBe("sql db: UPDATE trades SET status = 'halted' WHERE venue IN ('XLON',… (script, transaction)");
  });

  it('declares its contract and validates bodies and connections', () => {
    expect(sqlStep).toMatchObject({ name: 'sql', sideEffects: true, connectionKind: 'postgres', noInterpolation: ['query', 'script'] });
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const body = ajv.compile(sqlStep.schema);
    expect(body({ connection: 'db', query: 'SELECT $1', params: ['x'] })).toBe(true);
    expect(body({ connection: 'db', script: 'SELECT 1; SELECT 2', transaction: true })).toBe(true);
    expect(body({ connection: 'db', query: 'SELECT 1', script: 'SELECT 2' })).toBe(false);
    expect(body({ connection: 'db', script: 'SELECT $1', params: [1] })).toBe(false);
    expect(body({ query: 'SELECT 1' })).toBe(false);
    expect(body({ connection: 'db', query: 'SELECT 1', timeout: '1s' })).toBe(false);
    const conn = ajv.compile(postgresConnection.schema);
    expect(conn({ url: 'postgres://app@db:5432/trading', password: 's', ssl: { reject_unauthorized: false }, connect_timeout: '5s', max: 2 })).toBe(true);
    expect(conn({ host: 'db', port: '5433' })).toBe(true);
    expect(conn({ url: 'mysql://x' })).toBe(false);
    expect(conn({ host: 'db', pasword: 'typo' })).toBe(false);
    expect(conn({ host: 'db', connect_timeout: 'soon' })).toBe(false);
  });
});

describe.skipIf(skipReason !== undefined)('throwaway PostgreSQL', () => {
  it('starts two clusters at once from a fresh template (the race of parallel test files)', async () => {
    const templateParent = await mkdtemp(path.join(os.tmpdir(), 'runbook-pg-race-'));
    // initdb runs as the postgres user when we are root: it must reach the folder.
    await chmod(templateParent, 0o755);
    try {
      const servers = await Promise.all([
        startPostgres({ fsync: false, templateParent }),
        startPostgres({ fsync: false, templateParent }),
      ]);
      try {
        expect(servers[0].port).not.toBe(servers[1].port);
        for (const s of servers) expect(await s.psql('SELECT current_database(), 6 * 7')).toBe('app|42');
        // One template survived; the loser's staging dir was removed.
        const entries = await readdir(templateParent);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatch(new RegExp(`^runbook-pg-template-15-[0-9a-f]{8}-${servers[0].runAs?.uid ?? process.getuid!()}-v2$`));
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
      for (const s of servers) await expect(readdir(s.dataDir)).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(templateParent, { recursive: true, force: true });
    }
  }, 60_000);

  it('passes settings, honours fsync, and stops cleanly twice', async () => {
    const s = await startPostgres({ fsync: true, database: 'trading', settings: { wal_level: 'replica', 'log_min_messages': 'warning' } });
    try {
      expect(s.url).toBe(`postgres://postgres:${s.password}@127.0.0.1:${s.port}/trading`);
      expect(await s.psql('SHOW fsync; SHOW wal_level; SELECT current_database();')).toBe('on\nreplica\ntrading');
      expect(s.dataDir.startsWith(os.tmpdir())).toBe(true);
    } finally {
      await s.stop();
      await s.stop();
    }
    await expect(readdir(path.dirname(s.dataDir))).rejects.toThrow(/ENOENT/);
  }, 60_000);
});
