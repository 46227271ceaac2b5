/**
 * Scenario 5 drilled for real: the trades table dropped, the pricing dependency failing (breaker
 * OPEN) and — on the fake hosts over SSH — the service stopped on both app hosts. The runbook checks
 * the database host and the app tier, restores the database, starts the service on every app host
 * and verifies each of them besides the endpoints. And the same runbook with `--set hosts=false`,
 * which leaves the hosts out, as it ran before it knew them.
 */
import { describe, expect, it } from 'vitest';
import { countTrades } from '../../examples/sandbox/demo-scenarios.js';
import { seedFingerprint } from '../../examples/sandbox/trading-service.js';
import { drill, drillUnavailableReason, expectRtoMet, scenarioOf, useSandbox } from './sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;
const scenario = scenarioOf('complete-system-failure');

type Event = Record<string, unknown> & { type: string; step?: string };
const finished = (events: Record<string, unknown>[], step: string) => (events as Event[]).find((e) => e.type === 'step.finished' && e.step === step);

describe.skipIf(skip)('drill: complete system failure (scenario 5) across a database host and two app hosts', () => {
  const box = useSandbox(scenario.sandbox);

  it('checks the hosts, restores the database, starts the service on every app host, verifies each', async () => {
    const ctx = box.ctx();
    const hosts = ctx.sb.hosts;
    if (process.env.CI === 'true') expect(hosts, ctx.sb.hostsUnavailable).toBeDefined();
    const params = await scenario.setup(ctx);
    expect(params.hosts).toBe(hosts !== undefined);
    if (hosts) for (const h of hosts.app) expect(await h.health(), h.name).toBeUndefined();

    const run = await drill(ctx, scenario.runbook, params);
    expect(run.code, run.stderr).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded' });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(ctx.sb.trades));
    expect(ctx.sb.app.breaker.state).toBe('CLOSED');
    await expectRtoMet(ctx, run, 10 * 60_000);
    if (!hosts) return;
    // Assessed over SSH: the database host's server accepts connections; both app hosts were down.
    expect(finished(run.events, 'db-host')).toMatchObject({ status: 'succeeded', outputs: { accepting: { 'db-1': true } } });
    expect(finished(run.events, 'app-hosts')).toMatchObject({ outputs: { running: { 'app-1': false, 'app-2': false }, health: { 'app-1': 'unreachable', 'app-2': 'unreachable' } } });
    expect(finished(run.events, 'db-server[db-1]')).toMatchObject({ status: 'succeeded', host: 'db-1' });
    // Started on both hosts: a running process each, UP, reaching the database.
    for (const h of hosts.app) {
      expect(finished(run.events, `start-app-hosts[${h.name}]`)).toMatchObject({ status: 'succeeded' });
      expect(h.appPid(), h.name).toBeDefined();
      expect(await h.health()).toMatchObject({ status: 200, body: { status: 'UP', host: h.name, components: { db: { status: 'UP' } } } });
      expect(finished(run.events, `app-hosts-healthy[${h.name}]`)).toMatchObject({ status: 'succeeded' });
    }
    // The database restore waited for the database host; the app hosts started after the restore.
    const idx = (type: string, step: string) => (run.events as Event[]).findIndex((e) => e.type === type && e.step === step);
    expect(idx('step.finished', 'db-server')).toBeLessThan(idx('step.started', 'database'));
    expect(idx('step.finished', 'database')).toBeLessThan(idx('step.started', 'start-app-hosts[app-1]'));
  }, 180_000);

  it('with --set hosts=false the hosts are left out and the recovery still works', async () => {
    const ctx = box.ctx();
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const pids = ctx.sb.hosts?.app.map((h) => h.appPid());
    const run = await drill(ctx, scenario.runbook, { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore-2`, hosts: false });
    expect(run.code, run.stderr).toBe(0);
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(ctx.sb.trades));
    for (const step of ['db-host', 'app-hosts', 'db-server', 'start-app-hosts', 'app-hosts-healthy']) {
      expect(finished(run.events, step), step).toMatchObject({ status: 'skipped' });
    }
    expect((run.events as Event[]).some((e) => e.type === 'step.started' && /\[(db|app)-\d\]$/.test(String(e.step)))).toBe(false);
    // Nothing on the hosts was touched.
    expect(ctx.sb.hosts?.app.map((h) => h.appPid())).toEqual(pids);
  }, 180_000);
});
