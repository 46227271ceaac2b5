/**
 * The sandbox trading database: the two tables the service reads, and a deterministic seed so a
 * drill can compare row counts and checksums before a failure and after a restore.
 */

export const SANDBOX_SCHEMA_SQL = `CREATE TABLE IF NOT EXISTS trades (
  id serial PRIMARY KEY,
  symbol text NOT NULL,
  qty integer NOT NULL,
  price numeric(12,2) NOT NULL,
  executed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS accounts (
  id serial PRIMARY KEY,
  name text,
  balance numeric(14,2)
);
`;

export const SEED_SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA'] as const;

export const SEED_ACCOUNTS = [
  { name: 'alpha-fund', balance: '1000000.00' },
  { name: 'beta-desk', balance: '250000.50' },
  { name: 'gamma-retail', balance: '42000.00' },
] as const;

/**
 * INSERTs for `nTrades` trades and the three seed accounts. The same n always gives the same rows
 * (symbols, quantities, prices and timestamps are functions of the row number), so
 * `SELECT count(*), sum(qty), sum(price) FROM trades` is a fixed fingerprint. It appends: run it on
 * an empty schema. One set-based INSERT, so 100 000 rows take well under a second. The arithmetic is
 * bigint (`i * 7919` overflows integer past ~271,000 rows), so millions of rows seed the same way.
 */
export function seedSql(nTrades: number): string {
  if (!Number.isInteger(nTrades) || nTrades < 0) throw new RangeError(`nTrades must be an integer ≥ 0, got ${nTrades}`);
  const symbols = SEED_SYMBOLS.map((s) => `'${s}'`).join(', ');
  const accounts = SEED_ACCOUNTS.map((a) => `('${a.name}', ${a.balance})`).join(', ');
  return `INSERT INTO accounts (name, balance) VALUES ${accounts};
INSERT INTO trades (symbol, qty, price, executed_at)
SELECT (ARRAY[${symbols}])[1 + (i - 1) % ${SEED_SYMBOLS.length}],
       1 + (i * 37) % 100,
       round(100 + ((i * 7919) % 10000) / 100.0, 2),
       timestamptz '2025-01-17 12:00:00+00' + (i - 1) * interval '1 minute'
FROM generate_series(1::bigint, ${nTrades}::bigint) AS i;
`;
}

/** What `seedSql(n)` produces, computed without a database (for assertions in drills and tests). */
export function seedFingerprint(nTrades: number): { trades: number; sumQty: number; sumPriceCents: number } {
  let sumQty = 0;
  let sumPriceCents = 0;
  for (let i = 1; i <= nTrades; i++) {
    sumQty += 1 + ((i * 37) % 100);
    sumPriceCents += 10_000 + ((i * 7919) % 10_000);
  }
  return { trades: nTrades, sumQty, sumPriceCents };
}
