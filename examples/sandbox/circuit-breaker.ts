/**
 * A count-based circuit breaker with resilience4j's semantics, so the sandbox behaves like the
 * service the DR guide's runbooks were written for (50 % threshold, 10 s open, 3 half-open calls).
 *
 * CLOSED → OPEN when the failure rate over the last `slidingWindowSize` calls reaches the threshold
 * (once `minimumNumberOfCalls` are buffered); OPEN → HALF_OPEN after `waitDurationInOpenState`;
 * HALF_OPEN permits `permittedCallsInHalfOpenState` calls and then closes (rate < threshold) or
 * re-opens. Manual transitions follow resilience4j's table: everything except CLOSED → HALF_OPEN.
 */

export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface BreakerConfig {
  /** Percent, 1–100. */
  failureRateThreshold: number;
  slidingWindowSize: number;
  /** Capped at `slidingWindowSize`, as resilience4j does for count-based windows. */
  minimumNumberOfCalls: number;
  waitDurationInOpenState: number;
  permittedCallsInHalfOpenState: number;
  /** true: OPEN → HALF_OPEN as soon as the wait is over (seen on the next read, or by an unref'd
   * timer); false: only when the next call asks for a permission. */
  automaticTransitionFromOpenToHalfOpen: boolean;
}

export const DEFAULT_BREAKER_CONFIG: Readonly<BreakerConfig> = Object.freeze({
  failureRateThreshold: 50,
  slidingWindowSize: 10,
  minimumNumberOfCalls: 5,
  waitDurationInOpenState: 10_000,
  permittedCallsInHalfOpenState: 3,
  automaticTransitionFromOpenToHalfOpen: true,
});

/** The current state's window, like resilience4j's `CircuitBreaker.Metrics`. */
export interface BreakerMetrics {
  /** Percent over the buffered calls; -1 until the minimum number of calls is buffered. */
  failureRate: number;
  bufferedCalls: number;
  failedCalls: number;
  successfulCalls: number;
  notPermittedCalls: number;
}

/** Monotonic counters since the breaker was created (for Prometheus counters). */
export interface BreakerTotals {
  successful: number;
  failed: number;
  notPermitted: number;
}

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** Clock time of the transition. */
  at: number;
  manual: boolean;
}

/** A permission to make one call; report its outcome exactly once. */
export interface BreakerPermit {
  onSuccess(): void;
  onError(): void;
}

export class CallNotPermittedError extends Error {
  readonly code = 'CALL_NOT_PERMITTED';
  constructor(
    readonly breaker: string,
    readonly state: BreakerState,
  ) {
    super(`CircuitBreaker '${breaker}' is ${state} and does not permit further calls`);
    this.name = 'CallNotPermittedError';
  }
}

export class IllegalStateTransitionError extends Error {
  readonly code = 'ILLEGAL_STATE_TRANSITION';
  constructor(
    readonly breaker: string,
    readonly from: BreakerState,
    readonly to: BreakerState,
  ) {
    super(`CircuitBreaker '${breaker}' tried an illegal state transition from ${from} to ${to}`);
    this.name = 'IllegalStateTransitionError';
  }
}

export interface CircuitBreakerOptions {
  /** Milliseconds; injectable so tests can step time. */
  now?: () => number;
}

/** Outcomes of the last `size` calls, oldest overwritten first. */
class CountWindow {
  private readonly outcomes: boolean[] = [];
  private next = 0;
  notPermitted = 0;
  constructor(
    readonly size: number,
    readonly minimum: number,
  ) {}

  record(failed: boolean): void {
    if (this.outcomes.length < this.size) this.outcomes.push(failed);
    else this.outcomes[this.next] = failed;
    this.next = (this.next + 1) % this.size;
  }

  snapshot(): BreakerMetrics {
    const bufferedCalls = this.outcomes.length;
    const failedCalls = this.outcomes.filter(Boolean).length;
    const failureRate = bufferedCalls < this.minimum ? -1 : (failedCalls * 100) / bufferedCalls;
    return {
      failureRate,
      bufferedCalls,
      failedCalls,
      successfulCalls: bufferedCalls - failedCalls,
      notPermittedCalls: this.notPermitted,
    };
  }
}

export class CircuitBreaker {
  readonly config: Readonly<BreakerConfig>;
  private current: BreakerState = 'CLOSED';
  private window: CountWindow;
  // Outcomes of calls permitted under an earlier state must not decide the current one.
  private generation = 0;
  private openedAt = 0;
  private halfOpenPermitsLeft = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly listeners = new Set<(t: BreakerTransition) => void>();
  private readonly counts: BreakerTotals = { successful: 0, failed: 0, notPermitted: 0 };

  constructor(
    readonly name: string,
    config: Partial<BreakerConfig> = {},
    options: CircuitBreakerOptions = {},
  ) {
    this.config = Object.freeze(validateConfig({ ...DEFAULT_BREAKER_CONFIG, ...config }));
    this.now = options.now ?? Date.now;
    this.window = this.closedWindow();
  }

  get state(): BreakerState {
    if (this.config.automaticTransitionFromOpenToHalfOpen) this.expireOpenState();
    return this.current;
  }

  metrics(): BreakerMetrics {
    void this.state;
    return this.window.snapshot();
  }

  totals(): BreakerTotals {
    return { ...this.counts };
  }

  /** Milliseconds until OPEN may turn HALF_OPEN; undefined when not OPEN. */
  remainingWaitMs(): number | undefined {
    if (this.state !== 'OPEN') return undefined;
    return Math.max(0, this.openedAt + this.config.waitDurationInOpenState - this.now());
  }

  onStateTransition(listener: (t: BreakerTransition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A permit for one call, or undefined (counted as not permitted) when the state forbids it. */
  tryAcquirePermission(): BreakerPermit | undefined {
    this.expireOpenState();
    if (this.current === 'OPEN' || (this.current === 'HALF_OPEN' && this.halfOpenPermitsLeft === 0)) {
      this.window.notPermitted++;
      this.counts.notPermitted++;
      return undefined;
    }
    if (this.current === 'HALF_OPEN') this.halfOpenPermitsLeft--;
    const generation = this.generation;
    let settled = false;
    const settle = (failed: boolean): void => {
      if (settled) return;
      settled = true;
      this.record(generation, failed);
    };
    return { onSuccess: () => settle(false), onError: () => settle(true) };
  }

  /** Runs `call` under the breaker; throws CallNotPermittedError without calling it when refused. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const permit = this.tryAcquirePermission();
    if (!permit) throw new CallNotPermittedError(this.name, this.current);
    try {
      const value = await call();
      permit.onSuccess();
      return value;
    } catch (error) {
      permit.onError();
      throw error;
    }
  }

  transitionToOpenState(): void {
    this.transition('OPEN', true);
  }

  transitionToHalfOpenState(): void {
    if (this.state === 'CLOSED') throw new IllegalStateTransitionError(this.name, 'CLOSED', 'HALF_OPEN');
    this.transition('HALF_OPEN', true);
  }

  transitionToClosedState(): void {
    this.transition('CLOSED', true);
  }

  /** Stops the automatic-transition timer; the breaker stays usable with lazy transitions. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private record(generation: number, failed: boolean): void {
    if (failed) this.counts.failed++;
    else this.counts.successful++;
    if (generation !== this.generation) return;
    this.window.record(failed);
    const { failureRate } = this.window.snapshot();
    if (failureRate < 0) return;
    if (failureRate >= this.config.failureRateThreshold) this.transition('OPEN', false);
    else if (this.current === 'HALF_OPEN') this.transition('CLOSED', false);
  }

  private expireOpenState(): void {
    if (this.current !== 'OPEN') return;
    const left = this.openedAt + this.config.waitDurationInOpenState - this.now();
    if (left <= 0) return this.transition('HALF_OPEN', false);
    // A timer may fire a millisecond before the clock says the wait is over (Node's timers count
    // from the event loop's cached time, the breaker from its clock): wait out the rest, or the
    // breaker would stay OPEN until somebody read its state.
    this.schedule(left);
  }

  private transition(to: BreakerState, manual: boolean): void {
    const from = this.current;
    const at = this.now();
    this.close();
    this.generation++;
    this.current = to;
    if (to === 'CLOSED') this.window = this.closedWindow();
    if (to === 'HALF_OPEN') {
      const n = this.config.permittedCallsInHalfOpenState;
      this.window = new CountWindow(n, n);
      this.halfOpenPermitsLeft = n;
    }
    if (to === 'OPEN') {
      // resilience4j keeps the closed window's figures visible while OPEN; a manual re-open keeps them too.
      this.openedAt = at;
      this.window.notPermitted = 0;
      this.scheduleHalfOpen();
    }
    for (const listener of this.listeners) listener({ from, to, at, manual });
  }

  private scheduleHalfOpen(): void {
    if (!this.config.automaticTransitionFromOpenToHalfOpen) return;
    this.schedule(this.config.waitDurationInOpenState);
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.expireOpenState(), ms);
    this.timer.unref();
  }

  private closedWindow(): CountWindow {
    const { slidingWindowSize, minimumNumberOfCalls } = this.config;
    return new CountWindow(slidingWindowSize, Math.min(minimumNumberOfCalls, slidingWindowSize));
  }
}

function validateConfig(c: BreakerConfig): BreakerConfig {
  const positiveInts: (keyof BreakerConfig)[] = [
    'slidingWindowSize',
    'minimumNumberOfCalls',
    'permittedCallsInHalfOpenState',
  ];
  for (const key of positiveInts) {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${key} must be an integer ≥ 1, got ${v}`);
  }
  if (!(c.failureRateThreshold > 0 && c.failureRateThreshold <= 100)) {
    throw new RangeError(`failureRateThreshold must be in (0, 100], got ${c.failureRateThreshold}`);
  }
  if (!(c.waitDurationInOpenState >= 0)) throw new RangeError(`waitDurationInOpenState must be ≥ 0, got ${c.waitDurationInOpenState}`);
  return c;
}
