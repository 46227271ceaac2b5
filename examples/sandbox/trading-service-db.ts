/**
 * The service's database access: one small pg pool with short timeouts, because a health check
 * that hangs on a dead database is the failure the DR drills must not have.
 */
import pg from 'pg';

/** Connect and per-statement limits; the health check also has a hard deadline on top. */
export const DB_TIMEOUT_MS = 1000;

export interface Trade {
  id: number;
  symbol: string;
  qty: number;
  price: number;
  executedAt: string;
}

export type DbCheck = { status: 'UP'; trades?: number; accounts?: number } | { status: 'DOWN'; error: string; code?: string };

/** What the health check runs: both tables read (as Spring's validation query would), neither counted. */
export const VALIDATION_QUERY = 'SELECT EXISTS (SELECT FROM trades) AS trades, EXISTS (SELECT FROM accounts) AS accounts';

export function createPool(databaseUrl: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 5,
    connectionTimeoutMillis: DB_TIMEOUT_MS,
    idleTimeoutMillis: 5_000,
    // statement_timeout makes the server stop; query_timeout stops us waiting if the server cannot answer.
    statement_timeout: DB_TIMEOUT_MS,
    query_timeout: DB_TIMEOUT_MS + 500,
    application_name: 'sandbox-trading-service',
  });
  // An idle client whose server went away emits here; the pool drops it and the next check reports DOWN.
  pool.on('error', () => {});
  return pool;
}

/**
 * Reads both tables; any failure (unreachable, missing table, lock held past the timeout) is DOWN with
 * its reason. A health check must stay cheap at any size: by default it counts nothing (a count of a
 * million trades is a full scan on every poll). `count` is for the Prometheus scrape, which reports them.
 */
export async function checkDatabase(pool: pg.Pool, o: { count?: boolean } = {}): Promise<DbCheck> {
  try {
    const query = pool.query<{ trades: number; accounts: number }>(
      o.count ? 'SELECT (SELECT count(*) FROM trades)::int AS trades, (SELECT count(*) FROM accounts)::int AS accounts' : VALIDATION_QUERY,
    );
    const { rows } = await withDeadline(query, DB_TIMEOUT_MS * 2, 'database check timed out');
    return o.count ? { status: 'UP', trades: rows[0].trades, accounts: rows[0].accounts } : { status: 'UP' };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { status: 'DOWN', error: e.message || String(err), ...(e.code ? { code: e.code } : {}) };
  }
}

export async function listTrades(pool: pg.Pool, limit: number): Promise<Trade[]> {
  const { rows } = await pool.query(
    'SELECT id, symbol, qty, price, executed_at FROM trades ORDER BY id DESC LIMIT $1',
    [limit],
  );
  return rows.map(toTrade);
}

export async function insertTrade(pool: pg.Pool, t: { symbol: string; qty: number; price: number }): Promise<Trade> {
  const { rows } = await pool.query(
    'INSERT INTO trades (symbol, qty, price) VALUES ($1, $2, $3) RETURNING id, symbol, qty, price, executed_at',
    [t.symbol, t.qty, t.price],
  );
  return toTrade(rows[0]);
}

function toTrade(row: { id: number; symbol: string; qty: number; price: string; executed_at: Date }): Trade {
  return { id: row.id, symbol: row.symbol, qty: row.qty, price: Number(row.price), executedAt: row.executed_at.toISOString() };
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'TIMEOUT' })), ms);
  });
  // The losing query still settles later (query_timeout); keep it from becoming an unhandled rejection.
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
