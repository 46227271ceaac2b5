/**
 * Drill of runbooks/version-rollback.yaml (DR guide, Application Rollback Procedures → Version
 * Rollback) against the real Docker API (Podman): 1.4.2 runs; the runbook must bring the requested
 * version up in its place — and put 1.4.2 back when the requested version does not come up UP.
 */
import { describe, expect, it } from 'vitest';
import { startDockerSandbox } from '../../examples/sandbox/docker-sandbox.js';
import { runCli } from '../helpers/cli.js';
import { useDocker } from '../helpers/docker.js';
import { containerStates, expectPreflight, expectValidatesAndPlans, explain, health, reportOf, runbookPath, runDrill, useDrillLifecycle } from './docker-drill-helpers.js';

const docker = await useDocker();
const RUNBOOK = 'version-rollback';

describe.skipIf(docker.skip)('drill: version rollback (Podman Docker API)', { timeout: 180_000 }, () => {
  const ctx = useDrillLifecycle();

  it('validates and plans; the version is required', async () => {
    await expectValidatesAndPlans(RUNBOOK, ctx.state.dir, [['prepare', 30_000], ['rollback', 180_000], ['verify', 30_000]], ['--set', 'version=1.4.1']);
    const missing = await runCli(['plan', runbookPath(RUNBOOK), '--state-dir', ctx.state.dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr + missing.stdout).toMatch(/missing required param 'version'/);
  });

  it('rolls 1.4.2 back to 1.4.1: a new container of the service serves UP 1.4.1, the old one is stopped', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'healthy' });

    await expectPreflight(RUNBOOK, ctx.sandbox!, ctx.state.dir, ['version=1.4.1']);

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir, ['version=1.4.1']);
    expect(drill.code, explain(drill)).toBe(0);
    expect(drill.finished).toMatchObject({ status: 'succeeded', rto_met: true });
    const suffix = drill.runId.split('-').pop();
    const created = `trading-service-1.4.1-${suffix}`;
    expect(drill.steps.get('start-target')?.outputs).toEqual({ name: created });
    expect(drill.steps.get('current-labels')?.outputs).toEqual({ slot: 'blue', port: String(ctx.sandbox!.ports.blue) });

    expect(await containerStates(ctx.sandbox!)).toEqual({
      'trading-service-blue': ['trademaster/trading-service:1.4.2', 'exited'],
      [created]: ['trademaster/trading-service:1.4.1', 'running'],
    });
    expect(await health(ctx.sandbox!)).toEqual({ status: 200, json: { status: 'UP', version: '1.4.1' } });
    const labels = (await ctx.sandbox!.containersNow()).find((c) => c.name === created)!.labels;
    expect(labels).toMatchObject({
      'com.docker.compose.project': 'trademaster',
      'com.docker.compose.service': 'trading-service',
      'trademaster.version': '1.4.1',
    });

    const report = await reportOf(drill.runId, ctx.state.dir);
    expect(report).toMatch(/^\| RTO \| ✅ .*\(objective 4m\) \|$/m);
    console.info(`version-rollback drill: run ${drill.finished.duration_ms} ms, CLI wall ${drill.wallMs} ms`);
  });

  it('the requested version answers DOWN: the new container is stopped, 1.4.2 started again; exit 1', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'healthy' });

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir, ['version=1.5.0']);
    expect(drill.code, explain(drill)).toBe(1);
    expect(drill.finished.status).toBe('rolled_back');
    expect(drill.steps.get('target-health')).toMatchObject({ status: 'failed' });
    expect(drill.steps.get('target-health')?.error).toMatch(/expect failed: result\.json\.status == 'UP'/);
    expect(drill.rollbacks).toEqual([
      ['start-target', 'succeeded'],
      ['stop-current', 'succeeded'],
    ]);

    const created = `trading-service-1.5.0-${drill.runId.split('-').pop()}`;
    expect(await containerStates(ctx.sandbox!)).toEqual({
      'trading-service-blue': ['trademaster/trading-service:1.4.2', 'running'],
      [created]: ['trademaster/trading-service:1.5.0', 'exited'],
    });
    // The old container is back on its port: the service answers UP 1.4.2 again.
    let answer = await health(ctx.sandbox!).catch((e: Error) => ({ status: 0, json: e.message }));
    for (let i = 0; i < 50 && answer.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      answer = await health(ctx.sandbox!).catch((e: Error) => ({ status: 0, json: e.message }));
    }
    expect(answer).toEqual({ status: 200, json: { status: 'UP', version: '1.4.2' } });
    console.info(`version-rollback fault drill: run ${drill.finished.duration_ms} ms, CLI wall ${drill.wallMs} ms`);
  });

  it('the requested version has no image: stops before any change; exit 1', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'healthy' });

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir, ['version=9.9.9']);
    expect(drill.code, explain(drill)).toBe(1);
    expect(drill.finished.status).toBe('failed');
    expect(drill.steps.get('target-image')).toMatchObject({ status: 'failed', error: 'expect failed: result.count >= 1' });
    expect(drill.steps.has('stop-current')).toBe(false);
    expect(drill.rollbacks).toEqual([]);
    expect(await containerStates(ctx.sandbox!)).toEqual({
      'trading-service-blue': ['trademaster/trading-service:1.4.2', 'running'],
    });
  });
});
