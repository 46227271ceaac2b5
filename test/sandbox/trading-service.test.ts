import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinDir, startPostgres, type PgServer } from '../../examples/sandbox/services/postgres.js';
import { priceOf } from '../../examples/sandbox/trading-service-pricing.js';
import { VALIDATION_QUERY } from '../../examples/sandbox/trading-service-db.js';
import {
  SANDBOX_SCHEMA_SQL,
  seedFingerprint,
  seedSql,
  startTradingService,
  type TradingService,
} from '../../examples/sandbox/trading-service.js';

let missingPostgres: string | undefined;
try {
  findBinDir();
} catch (err) {
  missingPostgres = (err as Error).message;
}
// In CI a missing PostgreSQL must fail the run, so only skip outside it.
const skip = missingPostgres !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`skipping trading-service tests: ${missingPostgres}`);

const SEEDED = 25;
const WAIT_MS = 300;

let server: PgServer;
const services: TradingService[] = [];
let dbCounter = 0;

/** A fresh database on the shared server, with the schema and `SEEDED` trades. */
async function freshDatabase(seed = SEEDED): Promise<string> {
  const name = `t${++dbCounter}`;
  await server.psql(`CREATE DATABASE ${name}`);
  await server.psql(SANDBOX_SCHEMA_SQL + seedSql(seed), name);
  return server.url.replace(/\/[^/]+$/, `/${name}`);
}

async function start(databaseUrl: string, more: { version?: string; dependencyLatencyMs?: number } = {}): Promise<TradingService> {
  const svc = await startTradingService({ databaseUrl, breaker: { waitDurationInOpenState: WAIT_MS }, ...more });
  services.push(svc);
  return svc;
}

async function call(svc: TradingService, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(svc.url + p, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
}
const get = (svc: TradingService, p: string) => call(svc, 'GET', p);
const post = (svc: TradingService, p: string, body?: unknown) => call(svc, 'POST', p, body);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('sandbox trading service against a real PostgreSQL', () => {
  beforeAll(async () => {
    server = await startPostgres({ fsync: false });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    await server?.stop();
  });

  it('seeds deterministically: the rows match seedFingerprint()', async () => {
    const url = await freshDatabase();
    const db = url.split('/').pop()!;
    const row = await server.psql('SELECT count(*), sum(qty), sum(price * 100)::bigint FROM trades', db);
    const f = seedFingerprint(SEEDED);
    expect(row).toBe(`${f.trades}|${f.sumQty}|${f.sumPriceCents}`);
    expect(await server.psql('SELECT string_agg(name, \',\' ORDER BY id) FROM accounts', db)).toBe('alpha-fund,beta-desk,gamma-retail');
  });

  it('health is UP (200) with the validation query, the pricing dependency and the breaker', async () => {
    const svc = await start(await freshDatabase());
    const { status, body } = await get(svc, '/actuator/health');
    expect(status).toBe(200);
    expect(body).toEqual({
      status: 'UP',
      components: {
        db: { status: 'UP', details: { database: 'PostgreSQL', validationQuery: VALIDATION_QUERY } },
        externalPricing: { status: 'UP' },
        circuitBreakers: {
          status: 'UP',
          details: {
            externalPricing: {
              status: 'UP',
              details: {
                name: 'externalPricing',
                state: 'CLOSED',
                failureRate: -1,
                failureRateThreshold: 50,
                bufferedCalls: 0,
                failedCalls: 0,
                successfulCalls: 0,
                notPermittedCalls: 0,
              },
            },
          },
        },
        maintenance: { status: 'UP' },
      },
    });
  });

  it('serves trades from the database and inserts new ones', async () => {
    const url = await freshDatabase();
    const svc = await start(url);
    const list = await get(svc, '/api/trades?limit=2');
    expect(list.status).toBe(200);
    // Row 25 of the seed: symbol index 24 % 5, qty 1 + 925 % 100, price 100 + (25·7919 % 10000)/100.
    expect(list.body.trades).toEqual([
      { id: 25, symbol: 'TSLA', qty: 26, price: 179.75, executedAt: '2025-01-17T12:24:00.000Z' },
      { id: 24, symbol: 'AMZN', qty: 89, price: 100.56, executedAt: '2025-01-17T12:23:00.000Z' },
    ]);
    const created = await post(svc, '/api/trades', { symbol: 'nvda', qty: -7, price: 123.45 });
    expect(created.status).toBe(201);
    expect(created.body.trade).toMatchObject({ id: 26, symbol: 'NVDA', qty: -7, price: 123.45 });
    expect(await server.psql("SELECT symbol || ' ' || qty || ' ' || price FROM trades WHERE id = 26", url.split('/').pop())).toBe('NVDA -7 123.45');
    expect((await get(svc, '/actuator/prometheus')).body).toContain(`\ntrading_trades_total ${SEEDED + 1}\n`);

    expect((await post(svc, '/api/trades', { symbol: 'NVDA', qty: 1.5, price: 1 })).status).toBe(400);
    expect((await post(svc, '/api/trades', { symbol: 'NVDA', qty: 1 })).body).toEqual({ error: 'price must be a positive number below 1e10' });
    expect((await call(svc, 'POST', '/api/trades')).status).toBe(400);
    expect((await get(svc, '/api/trades?limit=0')).status).toBe(400);
    expect((await get(svc, '/api/trades')).body.trades).toHaveLength(SEEDED + 1);
  });

  it('health is DOWN (503) with the reason when the trades table is dropped, and UP again once restored', async () => {
    const url = await freshDatabase();
    const db = url.split('/').pop()!;
    const svc = await start(url);
    expect((await get(svc, '/actuator/health')).status).toBe(200);

    await server.psql('DROP TABLE trades', db);
    const down = await get(svc, '/actuator/health');
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('DOWN');
    expect(down.body.components.db).toEqual({
      status: 'DOWN',
      details: { database: 'PostgreSQL', error: 'relation "trades" does not exist', code: '42P01' },
    });
    const api = await get(svc, '/api/trades');
    expect(api).toEqual({ status: 503, body: { error: 'database unavailable: relation "trades" does not exist', code: '42P01' } });
    expect((await get(svc, '/actuator/prometheus')).body).toContain('\ntrading_db_up 0\n');

    await server.psql(SANDBOX_SCHEMA_SQL + seedSql(3), db);
    const up = await get(svc, '/actuator/health');
    expect(up.status).toBe(200);
    // Spring's shape: the validation query, no counts (a count of every trade would scan the table on each poll).
    expect(up.body.components.db.details).toEqual({ database: 'PostgreSQL', validationQuery: VALIDATION_QUERY });
  });

  it('health is DOWN when the accounts table is missing', async () => {
    const url = await freshDatabase();
    const svc = await start(url);
    await server.psql('DROP TABLE accounts', url.split('/').pop());
    const down = await get(svc, '/actuator/health');
    expect(down.status).toBe(503);
    expect(down.body.components.db.details).toMatchObject({ error: 'relation "accounts" does not exist', code: '42P01' });
  });

  it('health does not hang behind a lock: DOWN by statement_timeout in about a second', async () => {
    const url = await freshDatabase();
    const svc = await start(url);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE trades IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const down = await get(svc, '/actuator/health');
      const ms = Date.now() - t0;
      expect(down.status).toBe(503);
      expect(down.body.components.db.details).toMatchObject({ error: 'canceling statement due to statement timeout', code: '57014' });
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2500);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect((await get(svc, '/actuator/health')).status).toBe(200);
  });

  it('maintenance mode reports OUT_OF_SERVICE (503) and refuses API calls until turned off', async () => {
    const svc = await start(await freshDatabase());
    expect(await post(svc, '/admin/maintenance', { enabled: true })).toEqual({ status: 200, body: { maintenance: true } });
    const health = await get(svc, '/actuator/health');
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('OUT_OF_SERVICE');
    expect(health.body.components.db.status).toBe('UP');
    expect(health.body.components.maintenance).toEqual({ status: 'OUT_OF_SERVICE' });
    expect(await get(svc, '/api/quote/AAPL')).toEqual({
      status: 503,
      body: { error: 'service is in maintenance mode', status: 'OUT_OF_SERVICE' },
    });
    expect((await get(svc, '/api/trades')).status).toBe(503);
    expect((await get(svc, '/actuator/prometheus')).body).toContain('\ntrading_maintenance_mode 1\n');

    expect(await post(svc, '/admin/maintenance', { enabled: false })).toEqual({ status: 200, body: { maintenance: false } });
    expect((await get(svc, '/actuator/health')).status).toBe(200);
    // The DR guide's spelling works too.
    expect((await post(svc, '/admin/maintenance-mode/enable')).body).toEqual({ maintenance: true });
    expect((await get(svc, '/actuator/health')).body.status).toBe('OUT_OF_SERVICE');
    expect((await post(svc, '/admin/maintenance-mode/disable')).body).toEqual({ maintenance: false });
    expect((await post(svc, '/admin/maintenance', { enabled: 'yes' })).status).toBe(400);
  });

  it('runs the breaker lifecycle: failures → OPEN → cached fallback → HALF_OPEN → OPEN again → HALF_OPEN → CLOSED', async () => {
    const svc = await start(await freshDatabase());
    const aapl = priceOf('AAPL');
    expect(await get(svc, '/api/quote/aapl')).toEqual({
      status: 200,
      body: { symbol: 'AAPL', price: aapl, cached: false, source: 'externalPricing', circuitBreaker: 'CLOSED' },
    });

    expect(await post(svc, '/admin/dependency', { failing: true })).toEqual({ status: 200, body: { failing: true } });
    // S F F F: 4 calls, below the minimum of 5, still CLOSED.
    for (let i = 0; i < 3; i++) {
      expect(await get(svc, '/api/quote/AAPL')).toEqual({
        status: 502,
        body: { symbol: 'AAPL', error: 'externalPricing unavailable (simulated outage)', circuitBreaker: 'CLOSED' },
      });
    }
    // The fifth call makes 4 failures in 5 (80 %) and opens the breaker.
    expect((await get(svc, '/api/quote/AAPL')).body.circuitBreaker).toBe('OPEN');
    expect((await get(svc, '/actuator/circuitbreakers')).body).toEqual({
      circuitBreakers: {
        externalPricing: {
          name: 'externalPricing',
          state: 'OPEN',
          failureRate: 80,
          failureRateThreshold: 50,
          bufferedCalls: 5,
          failedCalls: 4,
          successfulCalls: 1,
          notPermittedCalls: 0,
        },
      },
    });

    // OPEN: the dependency is not called; the last good price is served as a fallback.
    expect(await get(svc, '/api/quote/AAPL')).toEqual({
      status: 503,
      body: {
        symbol: 'AAPL',
        price: aapl,
        cached: true,
        source: 'cache',
        circuitBreaker: 'OPEN',
        error: "CircuitBreaker 'externalPricing' is OPEN and does not permit further calls",
      },
    });
    expect((await get(svc, '/api/quote/MSFT')).body).toMatchObject({ price: null, cached: true });
    expect(svc.breaker.totals()).toEqual({ successful: 1, failed: 4, notPermitted: 2 });
    const health = await get(svc, '/actuator/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('UP');
    expect(health.body.components.externalPricing).toEqual({ status: 'DOWN' });
    expect(health.body.components.circuitBreakers.status).toBe('CIRCUIT_OPEN');
    const metrics = (await get(svc, '/actuator/prometheus')).body as string;
    expect(metrics).toContain('resilience4j_circuitbreaker_state{name="externalPricing",state="open"} 1\n');
    expect(metrics).toContain('resilience4j_circuitbreaker_state{name="externalPricing",state="closed"} 0\n');
    expect(metrics).toContain('resilience4j_circuitbreaker_calls_total{kind="not_permitted",name="externalPricing"} 2\n');

    // After the (shortened) wait, HALF_OPEN; still failing, so 3 trial calls re-open it.
    await sleep(WAIT_MS + 50);
    expect((await get(svc, '/actuator/circuitbreakers')).body.circuitBreakers.externalPricing).toMatchObject({ state: 'HALF_OPEN', bufferedCalls: 0 });
    for (const expected of ['HALF_OPEN', 'HALF_OPEN', 'OPEN']) {
      const r = await get(svc, '/api/quote/AAPL');
      expect(r.status).toBe(502);
      expect(r.body.circuitBreaker).toBe(expected);
    }

    // The dependency recovers; after the next wait, 3 successful trial calls close the breaker.
    await post(svc, '/admin/dependency', { failing: false });
    expect((await get(svc, '/api/quote/AAPL')).status).toBe(503);
    await sleep(WAIT_MS + 50);
    expect(svc.breaker.state).toBe('HALF_OPEN');
    for (const expected of ['HALF_OPEN', 'HALF_OPEN', 'CLOSED']) {
      const r = await get(svc, '/api/quote/AAPL');
      expect(r.status).toBe(200);
      expect(r.body.circuitBreaker).toBe(expected);
    }
    expect((await get(svc, '/actuator/circuitbreakers')).body.circuitBreakers.externalPricing).toMatchObject({
      state: 'CLOSED',
      failureRate: -1,
      bufferedCalls: 0,
    });
    expect((await get(svc, '/actuator/health')).body.components.circuitBreakers.status).toBe('UP');
    const after = (await get(svc, '/actuator/prometheus')).body as string;
    expect(after).toContain('resilience4j_circuitbreaker_state{name="externalPricing",state="closed"} 1\n');
    expect(after).toContain('resilience4j_circuitbreaker_state{name="externalPricing",state="open"} 0\n');
    expect(after).toContain('resilience4j_circuitbreaker_state{name="externalPricing",state="half_open"} 0\n');
    expect(after).toContain('resilience4j_circuitbreaker_calls_total{kind="successful",name="externalPricing"} 4\n');
    expect(after).toContain('resilience4j_circuitbreaker_calls_total{kind="failed",name="externalPricing"} 7\n');
    expect(after).toContain('resilience4j_circuitbreaker_calls_total{kind="not_permitted",name="externalPricing"} 3\n');
  });

  it('in HALF_OPEN permits exactly 3 concurrent trial calls', async () => {
    // Slow enough that all five requests are in flight before the first trial call settles.
    const svc = await start(await freshDatabase(), { dependencyLatencyMs: 300 });
    svc.breaker.transitionToOpenState();
    svc.breaker.transitionToHalfOpenState();
    const replies = await Promise.all(Array.from({ length: 5 }, () => get(svc, '/api/quote/IBM')));
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 200, 503, 503]);
    expect(svc.breaker.state).toBe('CLOSED');
  });

  it('manual transitions follow resilience4j; illegal ones are 409', async () => {
    const svc = await start(await freshDatabase());
    const base = '/actuator/circuitbreakers/externalPricing';
    expect(await post(svc, `${base}/transitionToHalfOpenState`)).toEqual({
      status: 409,
      body: {
        error: "CircuitBreaker 'externalPricing' tried an illegal state transition from CLOSED to HALF_OPEN",
        name: 'externalPricing',
        state: 'CLOSED',
        from: 'CLOSED',
        to: 'HALF_OPEN',
      },
    });
    expect(await post(svc, `${base}/transitionToOpenState`)).toEqual({
      status: 200,
      body: { name: 'externalPricing', previousState: 'CLOSED', state: 'OPEN' },
    });
    expect((await get(svc, '/api/quote/AAPL')).status).toBe(503);
    expect((await post(svc, `${base}/transitionToHalfOpenState`)).body).toEqual({ name: 'externalPricing', previousState: 'OPEN', state: 'HALF_OPEN' });
    expect((await post(svc, `${base}/transitionToClosedState`)).body).toEqual({ name: 'externalPricing', previousState: 'HALF_OPEN', state: 'CLOSED' });
    expect((await get(svc, '/api/quote/AAPL')).status).toBe(200);

    expect((await post(svc, '/actuator/circuitbreakers/nope/transitionToOpenState')).status).toBe(404);
    expect((await post(svc, `${base}/transitionToSideways`)).status).toBe(404);
    expect((await get(svc, `${base}/transitionToOpenState`)).status).toBe(405);
    expect(svc.breaker.state).toBe('CLOSED');
  });

  it('exposes Prometheus text with breaker, trade and request metrics', async () => {
    const svc = await start(await freshDatabase(), { version: '2.3.4' });
    expect(await get(svc, '/admin/version')).toEqual({ status: 200, body: { version: '2.3.4' } });
    await get(svc, '/actuator/health');
    await get(svc, '/actuator/health');
    await get(svc, '/api/quote/AAPL');
    await get(svc, '/nowhere');
    const res = await fetch(svc.url + '/actuator/prometheus');
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const lines = text.split('\n');
    for (const line of [
      'resilience4j_circuitbreaker_state{name="externalPricing",state="closed"} 1',
      'resilience4j_circuitbreaker_state{name="externalPricing",state="open"} 0',
      'resilience4j_circuitbreaker_state{name="externalPricing",state="half_open"} 0',
      'resilience4j_circuitbreaker_failure_rate{name="externalPricing"} -1',
      'resilience4j_circuitbreaker_calls_total{kind="successful",name="externalPricing"} 1',
      'resilience4j_circuitbreaker_calls_total{kind="failed",name="externalPricing"} 0',
      'resilience4j_circuitbreaker_calls_total{kind="not_permitted",name="externalPricing"} 0',
      'trading_db_up 1',
      `trading_trades_total ${SEEDED}`,
      'trading_external_pricing_failing 0',
      'http_server_requests_seconds_count{method="GET",outcome="SUCCESS",status="200",uri="/actuator/health"} 2',
      'http_server_requests_seconds_count{method="GET",outcome="SUCCESS",status="200",uri="/api/quote/{symbol}"} 1',
      'http_server_requests_seconds_count{method="GET",outcome="CLIENT_ERROR",status="404",uri="NOT_FOUND"} 1',
    ]) {
      expect(lines).toContain(line);
    }
    expect(lines.filter((l) => l.startsWith('# TYPE resilience4j_circuitbreaker_state '))).toEqual(['# TYPE resilience4j_circuitbreaker_state gauge']);
  });

  it('health turns DOWN quickly when the postmaster stops answering (SIGSTOP), without hanging', async () => {
    const own = await startPostgres({ fsync: false });
    try {
      await own.psql(SANDBOX_SCHEMA_SQL + seedSql(5));
      const svc = await start(own.url);
      const pid = Number(readFileSync(path.join(own.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGSTOP');
      try {
        const t0 = Date.now();
        const down = await get(svc, '/actuator/health');
        const ms = Date.now() - t0;
        expect(down.status).toBe(503);
        expect(down.body.components.db.status).toBe('DOWN');
        expect(down.body.components.db.details.error).toMatch(/timeout/i);
        expect(ms).toBeLessThan(2500);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect((await get(svc, '/actuator/health')).status).toBe(200);
    } finally {
      await own.stop();
    }
  });

  it('health turns DOWN at once when the database is stopped, and the service keeps serving', async () => {
    const own = await startPostgres({ fsync: false });
    let stopped = false;
    try {
      await own.psql(SANDBOX_SCHEMA_SQL + seedSql(5));
      const svc = await start(own.url);
      // A pooled connection exists when the server goes away: the pool must survive its error.
      expect((await get(svc, '/actuator/health')).body.components.db.status).toBe('UP');
      await own.stop();
      stopped = true;
      const t0 = Date.now();
      const down = await get(svc, '/actuator/health');
      expect(Date.now() - t0).toBeLessThan(1500);
      expect(down.status).toBe(503);
      expect(down.body.status).toBe('DOWN');
      expect(down.body.components.db.details).toMatchObject({ code: 'ECONNREFUSED' });
      expect((await get(svc, '/api/quote/AAPL')).status).toBe(200);
      expect((await get(svc, '/actuator/prometheus')).body).toContain('\ntrading_db_up 0\n');
    } finally {
      if (!stopped) await own.stop();
    }
  });

  // TRADING_SERVICE_JS points at a build elsewhere (e.g. `tsc --outDir`), for checking without touching dist/.
  const entry = path.resolve(process.env.TRADING_SERVICE_JS ?? 'dist/examples/sandbox/trading-service.js');
  const built = existsSync(entry);
  if (!built) console.warn(`skipping the process-mode test: ${entry} is not built (npm run build)`);

  it.skipIf(!built)('runs as a process: prints its URL, serves, exits 0 on SIGTERM and closes its pool', async () => {
    const url = await freshDatabase();
    const db = url.split('/').pop()!;
    const child = spawn(process.execPath, [entry, '--database-url', url, '--port', '0', '--version', '9.9.9', '--wait-duration-ms', '300'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code} before printing its URL`)));
      });
      const ready = JSON.parse(first);
      expect(ready).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), pid: child.pid });
      const version = await fetch(`${ready.url}/admin/version`).then((r) => r.json());
      expect(version).toEqual({ version: '9.9.9' });
      const health = await fetch(`${ready.url}/actuator/health`);
      expect(health.status).toBe(200);
      const before = await server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sandbox-trading-service'", db);
      expect(Number(before)).toBeGreaterThan(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The server ends a backend shortly after its client disconnects: wait for it, bounded.
      let after = '';
      for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        after = await server.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sandbox-trading-service'", db);
        if (after === '0') break;
      }
      expect(after).toBe('0');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
