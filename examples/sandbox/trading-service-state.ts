/** What the route handlers share: the pool, the breaker, the dependency switch and the mode flags. */
import type pg from 'pg';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { RequestMetrics } from './trading-service-metrics.js';
import type { SimulatedPricing } from './trading-service-pricing.js';

export interface ServiceState {
  pool: pg.Pool;
  breaker: CircuitBreaker;
  pricing: SimulatedPricing;
  requests: RequestMetrics;
  version: string;
  maintenance: boolean;
  /** Last good price per symbol: the fallback served while the breaker refuses calls. */
  priceCache: Map<string, number>;
}
