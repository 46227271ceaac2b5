/**
 * Drill of runbooks/deployment-failure.yaml (DR guide scenario 2) against the real Docker API
 * (Podman) and the sandbox's blue/green project: the broken green release is live; the runbook
 * must put traffic back on blue and stop green — or, when the switch cannot be verified, undo
 * every step it took.
 */
import { describe, expect, it } from 'vitest';
import { startDockerSandbox } from '../../examples/sandbox/docker-sandbox.js';
import { useDocker } from '../helpers/docker.js';
import { containerStates, expectPreflight, expectValidatesAndPlans, explain, health, reportOf, runDrill, useDrillLifecycle } from './docker-drill-helpers.js';

const docker = await useDocker();
const RUNBOOK = 'deployment-failure';

describe.skipIf(docker.skip)('drill: deployment failure → blue-green rollback (Podman Docker API)', { timeout: 180_000 }, () => {
  const ctx = useDrillLifecycle();

  it('validates and plans', async () => {
    await expectValidatesAndPlans(RUNBOOK, ctx.state.dir, [['detect', 30_000], ['rollback', 120_000], ['verify', 30_000]]);
  });

  it('rolls back: blue serves UP 1.4.2, green stopped, RTO met and reported', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'deployment-failure' });
    expect((await health(ctx.sandbox!)).json).toEqual({ status: 'DOWN', version: '1.5.0' });

    await expectPreflight(RUNBOOK, ctx.sandbox!, ctx.state.dir);

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir);
    expect(drill.code, explain(drill)).toBe(0);
    expect(drill.finished).toMatchObject({ status: 'succeeded', rto_met: true });
    expect(drill.finished.duration_ms).toBeLessThan(180_000);
    expect(drill.rollbacks).toEqual([]);
    expect(drill.steps.get('health')?.outputs).toEqual({ status: 'DOWN', version: '1.5.0', http_status: 200 });
    expect(drill.steps.get('green-logs')?.outputs).toEqual({ errors: true });
    expect(drill.steps.get('blue-health')?.outputs).toEqual({ version: '1.4.2' });
    expect(drill.steps.get('switch-traffic')?.outputs).toEqual({ previous: 'green' });

    expect(await containerStates(ctx.sandbox!)).toEqual({
      'trading-service-blue': ['trademaster/trading-service:1.4.2', 'running'],
      'trading-service-green': ['trademaster/trading-service:1.5.0', 'exited'],
    });
    expect(ctx.sandbox!.live()).toBe('blue');
    expect(await health(ctx.sandbox!)).toEqual({ status: 200, json: { status: 'UP', version: '1.4.2' } });

    const report = await reportOf(drill.runId, ctx.state.dir);
    expect(report).toMatch(/^\| Status \| ✅ succeeded \|$/m);
    expect(report).toMatch(/^\| RTO \| ✅ .*\(objective 3m\) \|$/m);
    console.info(`deployment-failure drill: run ${drill.finished.duration_ms} ms, CLI wall ${drill.wallMs} ms`);
  });

  it('a stale load-balancer address for blue: the switch is undone, green restored, blue stopped; exit 1', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'deployment-failure', faults: ['lb-stale-blue'] });

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir);
    expect(drill.code, explain(drill)).toBe(1);
    expect(drill.finished.status).toBe('rolled_back');
    expect(drill.steps.get('verify-traffic'), explain(drill)).toMatchObject({ status: 'failed', attempts: 5 });
    expect(drill.steps.has('stop-green')).toBe(false);
    // Reverse order of start; stop-green never started, so green's rollback does not run.
    expect(drill.rollbacks).toEqual([
      ['switch-traffic', 'succeeded'],
      ['start-blue', 'succeeded'],
    ]);

    expect(ctx.sandbox!.live()).toBe('green');
    expect(await containerStates(ctx.sandbox!)).toEqual({
      'trading-service-blue': ['trademaster/trading-service:1.4.2', 'exited'],
      'trading-service-green': ['trademaster/trading-service:1.5.0', 'running'],
    });
    expect((await health(ctx.sandbox!)).json).toEqual({ status: 'DOWN', version: '1.5.0' });
    console.info(`deployment-failure fault drill: run ${drill.finished.duration_ms} ms, CLI wall ${drill.wallMs} ms`);
  });
});
