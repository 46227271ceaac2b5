/**
 * Prometheus text exposition (format 0.0.4) with the metric names of Spring Boot + resilience4j +
 * Micrometer, so the runbooks' `grep resilience4j` checks read the sandbox like the real service.
 */
import type { BreakerState, CircuitBreaker } from './circuit-breaker.js';

export interface RequestKey {
  method: string;
  /** The route template (`/api/quote/{symbol}`), never the raw path, to bound the label set. */
  uri: string;
  status: number;
}

export class RequestMetrics {
  private readonly series = new Map<string, { key: RequestKey; count: number; sumSeconds: number }>();

  record(key: RequestKey, seconds: number): void {
    const id = `${key.method} ${key.uri} ${key.status}`;
    const s = this.series.get(id) ?? { key, count: 0, sumSeconds: 0 };
    s.count++;
    s.sumSeconds += seconds;
    this.series.set(id, s);
  }

  entries(): { key: RequestKey; count: number; sumSeconds: number }[] {
    return [...this.series.values()];
  }
}

export interface ServiceGauges {
  /** Rows in `trades`, or undefined when the database could not be read. */
  trades: number | undefined;
  maintenance: boolean;
  dependencyFailing: boolean;
}

const STATES: BreakerState[] = ['CLOSED', 'OPEN', 'HALF_OPEN'];

export function renderPrometheus(breakers: CircuitBreaker[], requests: RequestMetrics, gauges: ServiceGauges): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family('resilience4j_circuitbreaker_state', 'gauge', 'The states of the circuit breaker');
  for (const b of breakers) {
    const state = b.state;
    for (const s of STATES) out.push(`resilience4j_circuitbreaker_state{name="${b.name}",state="${s.toLowerCase()}"} ${s === state ? 1 : 0}`);
  }
  family('resilience4j_circuitbreaker_failure_rate', 'gauge', 'The failure rate of the circuit breaker (-1 below the minimum number of calls)');
  for (const b of breakers) out.push(`resilience4j_circuitbreaker_failure_rate{name="${b.name}"} ${b.metrics().failureRate}`);
  family('resilience4j_circuitbreaker_buffered_calls', 'gauge', 'The number of buffered calls stored in the ring buffer');
  for (const b of breakers) {
    const m = b.metrics();
    out.push(`resilience4j_circuitbreaker_buffered_calls{kind="successful",name="${b.name}"} ${m.successfulCalls}`);
    out.push(`resilience4j_circuitbreaker_buffered_calls{kind="failed",name="${b.name}"} ${m.failedCalls}`);
  }
  family('resilience4j_circuitbreaker_calls_total', 'counter', 'Total number of calls by outcome since start');
  for (const b of breakers) {
    const t = b.totals();
    out.push(`resilience4j_circuitbreaker_calls_total{kind="successful",name="${b.name}"} ${t.successful}`);
    out.push(`resilience4j_circuitbreaker_calls_total{kind="failed",name="${b.name}"} ${t.failed}`);
    out.push(`resilience4j_circuitbreaker_calls_total{kind="not_permitted",name="${b.name}"} ${t.notPermitted}`);
  }

  family('trading_db_up', 'gauge', '1 when the trades and accounts tables could be read');
  out.push(`trading_db_up ${gauges.trades === undefined ? 0 : 1}`);
  if (gauges.trades !== undefined) {
    family('trading_trades_total', 'gauge', 'Rows in the trades table at scrape time');
    out.push(`trading_trades_total ${gauges.trades}`);
  }
  family('trading_maintenance_mode', 'gauge', '1 while maintenance mode is on');
  out.push(`trading_maintenance_mode ${gauges.maintenance ? 1 : 0}`);
  family('trading_external_pricing_failing', 'gauge', '1 while the simulated pricing dependency is switched to fail');
  out.push(`trading_external_pricing_failing ${gauges.dependencyFailing ? 1 : 0}`);

  family('http_server_requests_seconds', 'summary', 'Duration of HTTP server request handling');
  for (const { key, count, sumSeconds } of requests.entries()) {
    const labels = `method="${key.method}",outcome="${outcomeOf(key.status)}",status="${key.status}",uri="${key.uri}"`;
    out.push(`http_server_requests_seconds_count{${labels}} ${count}`);
    out.push(`http_server_requests_seconds_sum{${labels}} ${sumSeconds.toFixed(6)}`);
  }
  return out.join('\n') + '\n';
}

function outcomeOf(status: number): string {
  if (status >= 500) return 'SERVER_ERROR';
  if (status >= 400) return 'CLIENT_ERROR';
  if (status >= 300) return 'REDIRECTION';
  if (status >= 200) return 'SUCCESS';
  return 'INFORMATIONAL';
}
