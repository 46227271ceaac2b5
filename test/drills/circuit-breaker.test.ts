/**
 * Circuit breaker drills against the sandbox's real breaker: the manual reset runbook brings a
 * breaker stuck OPEN back to CLOSED once the dependency has recovered, and the scenario 3 runbook
 * follows the automatic OPEN → HALF_OPEN → CLOSED recovery.
 */
import { describe, expect, it } from 'vitest';
import { tripBreaker } from '../../examples/sandbox/demo-scenarios.js';
import { drill, drillUnavailableReason, expectRtoMet, useSandbox } from './sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;

describe.skipIf(skip)('drill: manual circuit breaker reset', () => {
  // Ten minutes OPEN: without the runbook the breaker would not close during the test.
  const box = useSandbox({ trades: 10, breaker: { waitDurationInOpenState: 600_000 } });

  it('OPEN → HALF_OPEN (manual) → CLOSED after the dependency recovered', async () => {
    const { sb } = box.ctx();
    await tripBreaker(sb);
    sb.app.setDependencyFailing(false);
    const transitions: string[] = [];
    sb.app.breaker.onStateTransition((t) => transitions.push(`${t.from}→${t.to}${t.manual ? ' (manual)' : ''}`));

    const run = await drill(box.ctx(), 'circuit-breaker-reset', {});
    expect(run.code, run.stdout.slice(-2000)).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { state_before: 'OPEN' } });
    expect(sb.app.breaker.state).toBe('CLOSED');
    expect(transitions).toEqual(['OPEN→HALF_OPEN (manual)', 'HALF_OPEN→CLOSED']);
    // Closed by the trial calls, not forced.
    expect(run.events.find((e) => e.type === 'step.finished' && e.step === 'force-closed')).toMatchObject({ status: 'skipped' });
    await expectRtoMet(box.ctx(), run, 2 * 60_000);
  });

  it('refuses to reset while the dependency still fails (the breaker stays OPEN)', async () => {
    const { sb } = box.ctx();
    sb.app.breaker.transitionToClosedState();
    await tripBreaker(sb);
    const run = await drill(box.ctx(), 'circuit-breaker-reset', {});
    expect(run.code).toBe(1);
    expect(run.finished).toMatchObject({ status: 'failed', rto_met: false });
    expect(run.events.find((e) => e.type === 'step.finished' && e.step === 'dependency')).toMatchObject({ status: 'failed', attempts: 5 });
    expect(sb.app.breaker.state).toBe('OPEN');
    sb.app.setDependencyFailing(false);
  }, 60_000);
});

describe.skipIf(skip)('drill: external service outage (scenario 3)', () => {
  const box = useSandbox({ trades: 10, breaker: { waitDurationInOpenState: 5000 } });

  it('waits for the dependency, then follows OPEN → HALF_OPEN → CLOSED', async () => {
    // Open 5 s; the dependency comes back after 3 s, while the runbook waits for it.
    const { sb } = box.ctx();
    await tripBreaker(sb);
    const transitions: string[] = [];
    sb.app.breaker.onStateTransition((t) => transitions.push(`${t.from}→${t.to}${t.manual ? ' (manual)' : ''}`));
    const recover = setTimeout(() => sb.app.setDependencyFailing(false), 3000);
    try {
      const run = await drill(box.ctx(), 'external-service-outage', {});
      expect(run.code, run.stdout.slice(-2000)).toBe(0);
      expect(run.finished).toMatchObject({ status: 'succeeded', measures: { breaker_state_at_detection: 'OPEN' } });
      expect(sb.app.breaker.state).toBe('CLOSED');
      // The dependency is back (3 s) before the wait is over (5 s): one clean automatic recovery.
      expect(transitions).toEqual(['OPEN→HALF_OPEN', 'HALF_OPEN→CLOSED']);
      await expectRtoMet(box.ctx(), run, 2 * 60_000);
    } finally {
      clearTimeout(recover);
    }
  });
});
