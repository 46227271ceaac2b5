/**
 * The Spring Boot actuator endpoints the DR guide's runbooks call: health, circuit breakers (read and
 * the manual transitions), and the Prometheus scrape.
 */
import { IllegalStateTransitionError, type BreakerState, type CircuitBreaker } from './circuit-breaker.js';
import { checkDatabase, VALIDATION_QUERY } from './trading-service-db.js';
import { HttpError, type Route } from './trading-service-http.js';
import { renderPrometheus } from './trading-service-metrics.js';
import type { ServiceState } from './trading-service-state.js';

export type HealthStatus = 'UP' | 'DOWN' | 'OUT_OF_SERVICE';

export function actuatorRoutes(s: ServiceState): Route[] {
  return [
    { method: 'GET', uri: '/actuator/health', pattern: /^\/actuator\/health\/?$/, handle: () => health(s) },
    {
      method: 'GET',
      uri: '/actuator/circuitbreakers',
      pattern: /^\/actuator\/circuitbreakers\/?$/,
      handle: async () => ({ status: 200, body: { circuitBreakers: { [s.breaker.name]: describeBreaker(s.breaker) } } }),
    },
    {
      method: 'POST',
      uri: '/actuator/circuitbreakers/{name}/{transition}',
      pattern: /^\/actuator\/circuitbreakers\/([^/]+)\/([^/]+)\/?$/,
      handle: async (_req, _url, [name, transition]) => transitionBreaker(s.breaker, name, transition),
    },
    {
      method: 'GET',
      uri: '/actuator/prometheus',
      pattern: /^\/actuator\/prometheus\/?$/,
      handle: async () => {
        const db = await checkDatabase(s.pool, { count: true });
        const text = renderPrometheus([s.breaker], s.requests, {
          trades: db.status === 'UP' ? db.trades : undefined,
          maintenance: s.maintenance,
          dependencyFailing: s.pricing.failing,
        });
        return { status: 200, body: text, contentType: 'text/plain; version=0.0.4; charset=utf-8' };
      },
    },
  ];
}

/**
 * 200 UP; 503 DOWN when the database is unreachable or its tables cannot be read (DOWN wins, as in
 * Spring's status order); 503 OUT_OF_SERVICE in maintenance mode. An open breaker or a failing
 * dependency degrades its component only: the service still answers, with cached prices.
 */
async function health(s: ServiceState) {
  const db = await checkDatabase(s.pool);
  const breakerState = s.breaker.state;
  const status: HealthStatus = db.status === 'DOWN' ? 'DOWN' : s.maintenance ? 'OUT_OF_SERVICE' : 'UP';
  const components = {
    db:
      db.status === 'UP'
        ? { status: 'UP', details: { database: 'PostgreSQL', validationQuery: VALIDATION_QUERY } }
        : { status: 'DOWN', details: { database: 'PostgreSQL', error: db.error, ...(db.code ? { code: db.code } : {}) } },
    externalPricing: { status: s.pricing.failing ? 'DOWN' : 'UP' },
    circuitBreakers: {
      status: breakerHealth(breakerState),
      details: { [s.breaker.name]: { status: breakerHealth(breakerState), details: describeBreaker(s.breaker) } },
    },
    maintenance: { status: s.maintenance ? 'OUT_OF_SERVICE' : 'UP' },
  };
  return { status: status === 'UP' ? 200 : 503, body: { status, components } };
}

function breakerHealth(state: BreakerState): string {
  return state === 'CLOSED' ? 'UP' : `CIRCUIT_${state}`;
}

/** One entry of `/actuator/circuitbreakers`; `name` is inside so `.circuitBreakers[] | {name, state}` works. */
export function describeBreaker(b: CircuitBreaker) {
  const m = b.metrics();
  return {
    name: b.name,
    state: b.state,
    failureRate: m.failureRate,
    failureRateThreshold: b.config.failureRateThreshold,
    bufferedCalls: m.bufferedCalls,
    failedCalls: m.failedCalls,
    successfulCalls: m.successfulCalls,
    notPermittedCalls: m.notPermittedCalls,
  };
}

const TRANSITIONS: Record<string, (b: CircuitBreaker) => void> = {
  transitionToOpenState: (b) => b.transitionToOpenState(),
  transitionToHalfOpenState: (b) => b.transitionToHalfOpenState(),
  transitionToClosedState: (b) => b.transitionToClosedState(),
};

async function transitionBreaker(b: CircuitBreaker, name: string, transition: string) {
  if (name !== b.name) throw new HttpError(404, `no circuit breaker named "${name}"`, { circuitBreakers: [b.name] });
  const apply = TRANSITIONS[transition];
  if (!apply) throw new HttpError(404, `unknown transition "${transition}"`, { transitions: Object.keys(TRANSITIONS) });
  const previousState = b.state;
  try {
    apply(b);
  } catch (err) {
    if (err instanceof IllegalStateTransitionError) {
      throw new HttpError(409, err.message, { name, state: previousState, from: err.from, to: err.to });
    }
    throw err;
  }
  return { status: 200, body: { name, previousState, state: b.state } };
}
