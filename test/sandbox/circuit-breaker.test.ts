import { describe, expect, it } from 'vitest';
import {
  CallNotPermittedError,
  CircuitBreaker,
  IllegalStateTransitionError,
  type BreakerConfig,
  type BreakerTransition,
} from '../../examples/sandbox/circuit-breaker.js';

function makeBreaker(config: Partial<BreakerConfig> = {}) {
  let time = 1_000_000;
  const breaker = new CircuitBreaker('externalPricing', config, { now: () => time });
  const transitions: Omit<BreakerTransition, 'at'>[] = [];
  breaker.onStateTransition(({ from, to, manual }) => transitions.push({ from, to, manual }));
  return {
    breaker,
    transitions,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

/** Record outcomes through permits: 'F' fails, 'S' succeeds, in order. */
function calls(breaker: CircuitBreaker, outcomes: string): void {
  for (const o of outcomes) {
    const permit = breaker.tryAcquirePermission();
    if (!permit) throw new Error(`permission refused in ${breaker.state}`);
    if (o === 'F') permit.onError();
    else permit.onSuccess();
  }
}

describe('CircuitBreaker defaults (the DR guide figures)', () => {
  it('uses 50 %, a window of 10, 5 minimum calls, 10 s open and 3 half-open calls', () => {
    const breaker = new CircuitBreaker('externalPricing');
    expect(breaker.config).toEqual({
      failureRateThreshold: 50,
      slidingWindowSize: 10,
      minimumNumberOfCalls: 5,
      waitDurationInOpenState: 10_000,
      permittedCallsInHalfOpenState: 3,
      automaticTransitionFromOpenToHalfOpen: true,
    });
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.metrics()).toEqual({ failureRate: -1, bufferedCalls: 0, failedCalls: 0, successfulCalls: 0, notPermittedCalls: 0 });
  });

  it('rejects a nonsensical config', () => {
    expect(() => new CircuitBreaker('x', { failureRateThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker('x', { slidingWindowSize: 2.5 })).toThrow(/slidingWindowSize/);
    expect(() => new CircuitBreaker('x', { waitDurationInOpenState: -1 })).toThrow(/waitDurationInOpenState/);
  });
});

describe('CLOSED → OPEN', () => {
  it('reports -1 and stays CLOSED below the minimum number of calls, even at 100 % failures', () => {
    const { breaker } = makeBreaker();
    calls(breaker, 'FFFF');
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.metrics()).toMatchObject({ failureRate: -1, bufferedCalls: 4, failedCalls: 4 });
  });

  it('opens on the call that brings the rate to the threshold (3 S then 2 F = 40 %, then F = 50 %)', () => {
    const { breaker, transitions } = makeBreaker();
    calls(breaker, 'SSSFF');
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.metrics().failureRate).toBe(40);
    calls(breaker, 'F');
    expect(breaker.state).toBe('OPEN');
    expect(transitions).toEqual([{ from: 'CLOSED', to: 'OPEN', manual: false }]);
    // The closed window's figures stay visible while OPEN, as in resilience4j.
    expect(breaker.metrics()).toEqual({ failureRate: 50, bufferedCalls: 6, failedCalls: 3, successfulCalls: 3, notPermittedCalls: 0 });
  });

  it('slides: only the last 10 outcomes count', () => {
    const { breaker } = makeBreaker();
    // 1 F in 5 (20 %) stays closed; ten S later it has slid out of the window.
    calls(breaker, 'F' + 'SSSSSSSSSS');
    expect(breaker.metrics()).toMatchObject({ failureRate: 0, bufferedCalls: 10, failedCalls: 0 });
    calls(breaker, 'FFFF');
    expect(breaker.metrics()).toMatchObject({ failureRate: 40, bufferedCalls: 10, failedCalls: 4 });
    expect(breaker.state).toBe('CLOSED');
    calls(breaker, 'F');
    expect(breaker.state).toBe('OPEN');
  });

  it('caps the minimum number of calls at the window size', () => {
    const { breaker } = makeBreaker({ slidingWindowSize: 2, minimumNumberOfCalls: 100 });
    calls(breaker, 'SF');
    expect(breaker.state).toBe('OPEN');
  });
});

describe('OPEN', () => {
  it('refuses calls and counts them as not permitted, without running them', async () => {
    const { breaker } = makeBreaker();
    calls(breaker, 'FFFFF');
    expect(breaker.tryAcquirePermission()).toBeUndefined();
    let ran = false;
    await expect(
      breaker.run(async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ name: 'CallNotPermittedError', code: 'CALL_NOT_PERMITTED', state: 'OPEN' });
    expect(ran).toBe(false);
    expect(breaker.metrics().notPermittedCalls).toBe(2);
    expect(breaker.totals()).toEqual({ successful: 0, failed: 5, notPermitted: 2 });
  });

  it('turns HALF_OPEN exactly when the wait is over, on a state read (automatic)', () => {
    const { breaker, advance, transitions } = makeBreaker();
    calls(breaker, 'FFFFF');
    advance(9_999);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.remainingWaitMs()).toBe(1);
    advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.remainingWaitMs()).toBeUndefined();
    expect(breaker.metrics()).toEqual({ failureRate: -1, bufferedCalls: 0, failedCalls: 0, successfulCalls: 0, notPermittedCalls: 0 });
    expect(transitions.map((t) => t.to)).toEqual(['OPEN', 'HALF_OPEN']);
  });

  it('without automatic transition, stays OPEN on reads and turns HALF_OPEN on the next call', () => {
    const { breaker, advance } = makeBreaker({ automaticTransitionFromOpenToHalfOpen: false });
    calls(breaker, 'FFFFF');
    advance(60_000);
    expect(breaker.state).toBe('OPEN');
    const permit = breaker.tryAcquirePermission();
    expect(permit).toBeDefined();
    expect(breaker.state).toBe('HALF_OPEN');
  });

  it('turns HALF_OPEN by its own unref\'d timer with the real clock', async () => {
    const breaker = new CircuitBreaker('externalPricing', { waitDurationInOpenState: 50 });
    const seen: string[] = [];
    breaker.onStateTransition((t) => seen.push(t.to));
    breaker.transitionToOpenState();
    await new Promise((r) => setTimeout(r, 120));
    // The listener saw HALF_OPEN without anyone reading the state.
    expect(seen).toEqual(['OPEN', 'HALF_OPEN']);
    breaker.close();
  });

  it('turns HALF_OPEN by its timer even when the timer fires before its clock says the wait is over', async () => {
    // The breaker's clock runs 20 ms behind the timers: its first timer finds the wait not over.
    let lag = 20;
    const breaker = new CircuitBreaker('externalPricing', { waitDurationInOpenState: 30 }, { now: () => Date.now() - lag });
    const seen: string[] = [];
    breaker.onStateTransition((t) => seen.push(t.to));
    breaker.transitionToOpenState();
    lag = 40;
    await new Promise((r) => setTimeout(r, 150));
    expect(seen).toEqual(['OPEN', 'HALF_OPEN']);
    breaker.close();
  });
});

describe('HALF_OPEN', () => {
  function halfOpen(config: Partial<BreakerConfig> = {}) {
    const h = makeBreaker(config);
    calls(h.breaker, 'FFFFF');
    h.advance(10_000);
    expect(h.breaker.state).toBe('HALF_OPEN');
    return h;
  }

  it('permits exactly 3 calls while they are in flight', () => {
    const { breaker } = halfOpen();
    const permits = [breaker.tryAcquirePermission(), breaker.tryAcquirePermission(), breaker.tryAcquirePermission()];
    expect(permits.every((p) => p !== undefined)).toBe(true);
    expect(breaker.tryAcquirePermission()).toBeUndefined();
    expect(breaker.metrics()).toMatchObject({ bufferedCalls: 0, notPermittedCalls: 1 });
  });

  it('closes after 3 calls with a failure rate below 50 % (S F S = 33.3 %)', () => {
    const { breaker, transitions } = halfOpen();
    calls(breaker, 'SF');
    expect(breaker.state).toBe('HALF_OPEN');
    calls(breaker, 'S');
    expect(breaker.state).toBe('CLOSED');
    expect(transitions.map((t) => t.to)).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
    // A fresh closed window.
    expect(breaker.metrics()).toEqual({ failureRate: -1, bufferedCalls: 0, failedCalls: 0, successfulCalls: 0, notPermittedCalls: 0 });
  });

  it('re-opens after 3 calls at or above 50 % (S F F), and waits the full duration again', () => {
    const { breaker, advance } = halfOpen();
    calls(breaker, 'SFF');
    expect(breaker.state).toBe('OPEN');
    advance(9_999);
    expect(breaker.state).toBe('OPEN');
    advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  it('ignores late outcomes of calls permitted before the transition', () => {
    const { breaker, advance } = makeBreaker();
    const late = breaker.tryAcquirePermission()!;
    calls(breaker, 'FFFFF');
    advance(10_000);
    expect(breaker.state).toBe('HALF_OPEN');
    late.onError();
    expect(breaker.metrics().bufferedCalls).toBe(0);
    // It still counts in the monotonic totals.
    expect(breaker.totals()).toEqual({ successful: 0, failed: 6, notPermitted: 0 });
    // A permit reports once only.
    late.onError();
    expect(breaker.totals().failed).toBe(6);
  });
});

describe('manual transitions', () => {
  it('follows resilience4j: OPEN and CLOSED from anywhere, HALF_OPEN only from OPEN/HALF_OPEN', () => {
    const { breaker, transitions } = makeBreaker();
    expect(() => breaker.transitionToHalfOpenState()).toThrow(IllegalStateTransitionError);
    try {
      breaker.transitionToHalfOpenState();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ILLEGAL_STATE_TRANSITION', from: 'CLOSED', to: 'HALF_OPEN' });
    }
    breaker.transitionToOpenState();
    expect(breaker.state).toBe('OPEN');
    breaker.transitionToHalfOpenState();
    expect(breaker.state).toBe('HALF_OPEN');
    breaker.transitionToClosedState();
    expect(breaker.state).toBe('CLOSED');
    breaker.transitionToClosedState();
    expect(transitions).toEqual([
      { from: 'CLOSED', to: 'OPEN', manual: true },
      { from: 'OPEN', to: 'HALF_OPEN', manual: true },
      { from: 'HALF_OPEN', to: 'CLOSED', manual: true },
      { from: 'CLOSED', to: 'CLOSED', manual: true },
    ]);
    breaker.close();
  });

  it('a forced CLOSED resets the window; a forced OPEN restarts the wait', () => {
    const { breaker, advance } = makeBreaker();
    calls(breaker, 'SSFF');
    breaker.transitionToClosedState();
    expect(breaker.metrics().bufferedCalls).toBe(0);
    breaker.transitionToOpenState();
    advance(6_000);
    breaker.transitionToOpenState();
    advance(6_000);
    expect(breaker.state).toBe('OPEN');
    advance(4_000);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  it('run() passes values and errors through and records them', async () => {
    const { breaker } = makeBreaker();
    await expect(breaker.run(async () => 42)).resolves.toBe(42);
    await expect(breaker.run(async () => Promise.reject(new Error('pricing down')))).rejects.toThrow('pricing down');
    expect(breaker.metrics()).toMatchObject({ bufferedCalls: 2, failedCalls: 1, successfulCalls: 1 });
    expect(new CallNotPermittedError('a', 'OPEN').message).toBe("CircuitBreaker 'a' is OPEN and does not permit further calls");
  });
});
