/**
 * The sandbox "trading service": a small real HTTP service with the actuator endpoints, circuit
 * breaker and maintenance switch of the service the DR guide describes, so runbooks drill against
 * something that fails for real. In-process via `startTradingService()`, or as a process:
 *
 *   node dist/examples/sandbox/trading-service.js --database-url postgres://… [--port 0]
 *        [--version 1.2.3] [--wait-duration-ms 10000] [--failure-rate-threshold 50]
 *        [--sliding-window-size 10] [--minimum-calls 5] [--half-open-calls 3]
 *        [--dependency-latency-ms 0]
 *
 * prints `{"url":"http://127.0.0.1:PORT","pid":N}` on one stdout line when ready, logs breaker
 * transitions as JSON lines on stderr, and exits 0 on SIGTERM/SIGINT after closing the pg pool.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CircuitBreaker, type BreakerConfig } from './circuit-breaker.js';
import { actuatorRoutes } from './trading-service-actuator.js';
import { adminRoutes, apiRoutes } from './trading-service-api.js';
import { createPool } from './trading-service-db.js';
import { findRoute, HttpError, send, type Route } from './trading-service-http.js';
import { RequestMetrics } from './trading-service-metrics.js';
import { SimulatedPricing } from './trading-service-pricing.js';
import type { ServiceState } from './trading-service-state.js';

export { SANDBOX_SCHEMA_SQL, seedSql, seedFingerprint } from './trading-service-schema.js';
export type { BreakerConfig } from './circuit-breaker.js';

export interface TradingServiceOptions {
  databaseUrl: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: '127.0.0.1';
  breaker?: Partial<BreakerConfig>;
  /** Reported by GET /admin/version (default 1.0.0). */
  version?: string;
  /** Latency of the simulated pricing dependency per call (default 0). */
  dependencyLatencyMs?: number;
}

export interface TradingService {
  url: string;
  port: number;
  /** The `externalPricing` breaker. */
  breaker: CircuitBreaker;
  /** Same as POST /admin/dependency { failing }. */
  setDependencyFailing(failing: boolean): void;
  /** Stops listening, drops open connections, ends the pg pool. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts listening on 127.0.0.1; does not touch the database until a request needs it. */
export async function startTradingService(opts: TradingServiceOptions): Promise<TradingService> {
  const state: ServiceState = {
    pool: createPool(opts.databaseUrl),
    breaker: new CircuitBreaker('externalPricing', opts.breaker),
    pricing: new SimulatedPricing(),
    requests: new RequestMetrics(),
    version: opts.version ?? '1.0.0',
    maintenance: false,
    priceCache: new Map(),
  };
  state.pricing.latencyMs = opts.dependencyLatencyMs ?? 0;
  const routes = [...actuatorRoutes(state), ...apiRoutes(state), ...adminRoutes(state)];
  const server = http.createServer((req, res) => void handle(state, routes, req, res));
  try {
    await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  } catch (err) {
    state.breaker.close();
    await state.pool.end();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    breaker: state.breaker,
    setDependencyFailing: (failing) => {
      state.pricing.failing = failing;
    },
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        state.breaker.close();
        await state.pool.end();
      })()),
  };
}

async function handle(s: ServiceState, routes: Route[], req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  const { route, params, allowed } = findRoute(routes, method, url.pathname);
  res.once('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    s.requests.record({ method, uri: route?.uri ?? (allowed.length ? 'METHOD_NOT_ALLOWED' : 'NOT_FOUND'), status: res.statusCode }, seconds);
  });
  try {
    if (!route) {
      if (allowed.length) res.setHeader('allow', allowed.join(', '));
      throw allowed.length
        ? new HttpError(405, `${method} not allowed on ${url.pathname}`)
        : new HttpError(404, `no route for ${method} ${url.pathname}`);
    }
    send(res, await route.handle(req, url, params));
  } catch (err) {
    if (res.headersSent) return void res.destroy();
    if (err instanceof HttpError) send(res, { status: err.status, body: { error: err.message, ...err.body } });
    else send(res, { status: 500, body: { error: (err as Error).message ?? String(err) } });
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The process entry point: flags (or DATABASE_URL), ready line, clean exit on signals. */
export async function main(argv = process.argv.slice(2)): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'database-url': { type: 'string' },
      port: { type: 'string', default: '0' },
      version: { type: 'string' },
      'wait-duration-ms': { type: 'string' },
      'failure-rate-threshold': { type: 'string' },
      'sliding-window-size': { type: 'string' },
      'minimum-calls': { type: 'string' },
      'half-open-calls': { type: 'string' },
      'dependency-latency-ms': { type: 'string' },
    },
  });
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error('--database-url (or DATABASE_URL) is required');
  const breaker: Partial<BreakerConfig> = {};
  const numeric: [keyof typeof values, keyof BreakerConfig][] = [
    ['wait-duration-ms', 'waitDurationInOpenState'],
    ['failure-rate-threshold', 'failureRateThreshold'],
    ['sliding-window-size', 'slidingWindowSize'],
    ['minimum-calls', 'minimumNumberOfCalls'],
    ['half-open-calls', 'permittedCallsInHalfOpenState'],
  ];
  for (const [flag, key] of numeric) {
    const raw = values[flag];
    if (typeof raw === 'string') (breaker as Record<string, number>)[key] = toNumber(raw, `--${flag}`);
  }
  const service = await startTradingService({
    databaseUrl,
    port: toNumber(values.port ?? '0', '--port'),
    breaker,
    version: values.version,
    dependencyLatencyMs: toNumber(values['dependency-latency-ms'] ?? '0', '--dependency-latency-ms'),
  });
  service.breaker.onStateTransition((t) =>
    process.stderr.write(JSON.stringify({ event: 'circuitbreaker.transition', name: service.breaker.name, ...t, at: new Date(t.at).toISOString() }) + '\n'),
  );
  const stop = (signal: NodeJS.Signals) => {
    process.stderr.write(JSON.stringify({ event: 'shutdown', signal }) + '\n');
    service.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(JSON.stringify({ url: service.url, pid: process.pid }) + '\n');
}

function toNumber(raw: string, flag: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`${flag} must be a number, got "${raw}"`);
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`trading-service: ${(err as Error).message}\n`);
    process.exit(2);
  });
}
