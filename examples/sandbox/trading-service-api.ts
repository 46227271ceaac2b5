/**
 * The business endpoints (quotes through the breaker, trades from the database) and the admin
 * switches the drills flip: maintenance mode, the failing dependency, the reported version.
 */
import { CallNotPermittedError } from './circuit-breaker.js';
import { insertTrade, listTrades } from './trading-service-db.js';
import { HttpError, readJson, requireBoolean, type Reply, type Route } from './trading-service-http.js';
import type { ServiceState } from './trading-service-state.js';

const SYMBOL = /^[A-Z][A-Z0-9.]{0,11}$/;

export function apiRoutes(s: ServiceState): Route[] {
  return [
    {
      method: 'GET',
      uri: '/api/quote/{symbol}',
      pattern: /^\/api\/quote\/([^/]+)\/?$/,
      handle: async (_req, _url, [symbol]) => quote(s, symbol.toUpperCase()),
    },
    {
      method: 'GET',
      uri: '/api/trades',
      pattern: /^\/api\/trades\/?$/,
      handle: async (_req, url) => {
        refuseInMaintenance(s);
        const limit = parseLimit(url.searchParams.get('limit'));
        return { status: 200, body: { trades: await withDb(() => listTrades(s.pool, limit)) } };
      },
    },
    {
      method: 'POST',
      uri: '/api/trades',
      pattern: /^\/api\/trades\/?$/,
      handle: async (req) => {
        refuseInMaintenance(s);
        const trade = parseTrade(await readJson(req));
        return { status: 201, body: { trade: await withDb(() => insertTrade(s.pool, trade)) } };
      },
    },
  ];
}

export function adminRoutes(s: ServiceState): Route[] {
  const maintenance = (enabled: boolean): Reply => {
    s.maintenance = enabled;
    return { status: 200, body: { maintenance: s.maintenance } };
  };
  return [
    { method: 'GET', uri: '/admin/maintenance', pattern: /^\/admin\/maintenance\/?$/, handle: async () => maintenance(s.maintenance) },
    {
      method: 'POST',
      uri: '/admin/maintenance',
      pattern: /^\/admin\/maintenance\/?$/,
      handle: async (req) => maintenance(requireBoolean(await readJson(req), 'enabled')),
    },
    // The DR guide's spelling: POST /admin/maintenance-mode/enable.
    {
      method: 'POST',
      uri: '/admin/maintenance-mode/{action}',
      pattern: /^\/admin\/maintenance-mode\/(enable|disable)\/?$/,
      handle: async (_req, _url, [action]) => maintenance(action === 'enable'),
    },
    {
      method: 'GET',
      uri: '/admin/dependency',
      pattern: /^\/admin\/dependency\/?$/,
      handle: async () => ({ status: 200, body: { failing: s.pricing.failing } }),
    },
    {
      method: 'POST',
      uri: '/admin/dependency',
      pattern: /^\/admin\/dependency\/?$/,
      handle: async (req) => {
        s.pricing.failing = requireBoolean(await readJson(req), 'failing');
        return { status: 200, body: { failing: s.pricing.failing } };
      },
    },
    { method: 'GET', uri: '/admin/version', pattern: /^\/admin\/version\/?$/, handle: async () => ({ status: 200, body: { version: s.version } }) },
  ];
}

/**
 * 200 with a live price; 502 when the dependency fails (the breaker counts it); 503 with the last
 * cached price (`cached: true`, price null if never fetched) when the breaker refuses the call.
 */
async function quote(s: ServiceState, symbol: string): Promise<Reply> {
  refuseInMaintenance(s);
  if (!SYMBOL.test(symbol)) throw new HttpError(400, `invalid symbol "${symbol}"`);
  try {
    const price = await s.breaker.run(() => s.pricing.quote(symbol));
    s.priceCache.set(symbol, price);
    return { status: 200, body: { symbol, price, cached: false, source: 'externalPricing', circuitBreaker: s.breaker.state } };
  } catch (err) {
    if (err instanceof CallNotPermittedError) {
      const price = s.priceCache.get(symbol) ?? null;
      return { status: 503, body: { symbol, price, cached: true, source: 'cache', circuitBreaker: err.state, error: err.message } };
    }
    return { status: 502, body: { symbol, error: (err as Error).message, circuitBreaker: s.breaker.state } };
  }
}

function refuseInMaintenance(s: ServiceState): void {
  if (s.maintenance) throw new HttpError(503, 'service is in maintenance mode', { status: 'OUT_OF_SERVICE' });
}

function parseLimit(raw: string | null): number {
  if (raw === null || raw === '') return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new HttpError(400, `limit must be an integer from 1 to 1000, got "${raw}"`);
  return n;
}

function parseTrade(body: Record<string, unknown>): { symbol: string; qty: number; price: number } {
  const { symbol, qty, price } = body;
  if (typeof symbol !== 'string' || !SYMBOL.test(symbol.toUpperCase())) throw new HttpError(400, 'symbol must be a ticker like "AAPL"');
  if (typeof qty !== 'number' || !Number.isInteger(qty) || qty === 0) throw new HttpError(400, 'qty must be a non-zero integer');
  if (typeof price !== 'number' || !(price > 0) || price >= 1e10) throw new HttpError(400, 'price must be a positive number below 1e10');
  return { symbol: symbol.toUpperCase(), qty, price };
}

/** A database failure is the service's problem, not the client's: 503 with the reason. */
async function withDb<T>(query: () => Promise<T>): Promise<T> {
  try {
    return await query();
  } catch (err) {
    const e = err as Error & { code?: string };
    throw new HttpError(503, `database unavailable: ${e.message}`, e.code ? { code: e.code } : {});
  }
}
