/**
 * Drill of runbooks/configuration-error.yaml (DR guide scenario 4) against the real Docker API
 * (Podman): the live service runs with a broken configuration file and answers DOWN; the runbook
 * restores the previous file, restarts the service and health comes back. Without a usable
 * previous configuration it stops before changing anything.
 */
import { describe, expect, it } from 'vitest';
import { startDockerSandbox, type DockerSandbox } from '../../examples/sandbox/docker-sandbox.js';
import { BROKEN_CONFIG, GOOD_CONFIG } from '../../examples/sandbox/images/trading-images.js';
import { openDockerClient } from '../../src/steps/docker/client.js';
import { useDocker } from '../helpers/docker.js';
import { containerStates, expectPreflight, expectValidatesAndPlans, explain, health, reportOf, runDrill, useDrillLifecycle } from './docker-drill-helpers.js';

const docker = await useDocker();
const RUNBOOK = 'configuration-error';

/** Contents of the config files in the container (read with the image's own `cat`). */
async function configFiles(sandbox: DockerSandbox): Promise<string> {
  const client = openDockerClient({ socket: sandbox.api.socketPath });
  try {
    const created = await client.request('POST', `/containers/${sandbox.containers.blue}/exec`, {
      body: { Cmd: ['sh', '-c', 'for f in /config/*; do echo "== $f"; cat "$f"; done'], AttachStdout: true, AttachStderr: true },
    });
    const id = (created.json as { Id: string }).Id;
    const chunks: Buffer[] = [];
    await client.stream('POST', `/exec/${id}/start`, (c) => chunks.push(c), { body: { Detach: false, Tty: false } });
    // Strip the 8-byte frame headers of the multiplexed stream.
    const raw = Buffer.concat(chunks);
    const out: Buffer[] = [];
    for (let i = 0; i + 8 <= raw.length; ) {
      const len = raw.readUInt32BE(i + 4);
      out.push(raw.subarray(i + 8, i + 8 + len));
      i += 8 + len;
    }
    return Buffer.concat(out).toString('utf8');
  } finally {
    await client.close();
  }
}

describe.skipIf(docker.skip)('drill: configuration error → configuration rollback (Podman Docker API)', { timeout: 180_000 }, () => {
  const ctx = useDrillLifecycle();

  it('validates and plans', async () => {
    await expectValidatesAndPlans(RUNBOOK, ctx.state.dir, [['identify', 20_000], ['rollback-config', 30_000], ['restart', 60_000], ['validate', 10_000]]);
  });

  it('restores the previous configuration, restarts, health UP again', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'configuration-error' });
    expect((await health(ctx.sandbox!)).json).toEqual({ status: 'DOWN', version: '1.4.2' });

    await expectPreflight(RUNBOOK, ctx.sandbox!, ctx.state.dir);

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir);
    expect(drill.code, explain(drill)).toBe(0);
    expect(drill.finished).toMatchObject({ status: 'succeeded', rto_met: true });
    expect(drill.steps.get('error-logs')?.outputs).toEqual({ config_errors: true, errors: true });
    expect(drill.steps.get('check-live-config')?.outputs).toEqual({
      valid: false,
      problems: 'missing trading.pricing.url in /config/application.conf\ntrading.pool.size is not a number: twenty',
    });
    expect(drill.steps.get('verify-config')?.outputs).toEqual({ verdict: 'config OK: /config/application.conf' });
    expect(drill.rollbacks).toEqual([]);

    expect(await health(ctx.sandbox!)).toEqual({ status: 200, json: { status: 'UP', version: '1.4.2' } });
    expect(await containerStates(ctx.sandbox!)).toEqual({ 'trading-service-blue': ['trademaster/trading-service:1.4.2', 'running'] });
    // The previous file is live again; the failed one is kept for the post-mortem.
    expect(await configFiles(ctx.sandbox!)).toBe(
      `== /config/application.conf\n${GOOD_CONFIG}== /config/application.conf.failed\n${BROKEN_CONFIG}== /config/application.conf.previous\n${GOOD_CONFIG}`,
    );

    const report = await reportOf(drill.runId, ctx.state.dir);
    expect(report).toMatch(/^\| RTO \| ✅ .*\(objective 2m\) \|$/m);
    console.info(`configuration-error drill: run ${drill.finished.duration_ms} ms, CLI wall ${drill.wallMs} ms`);
  });

  it('no readable previous configuration: stops before changing anything; exit 1', async () => {
    ctx.sandbox = await startDockerSandbox({ api: docker.api, scenario: 'configuration-error' });
    const before = `== /config/application.conf\n${BROKEN_CONFIG}== /config/application.conf.previous\n${GOOD_CONFIG}`;
    expect(await configFiles(ctx.sandbox!)).toBe(before);

    const drill = await runDrill(RUNBOOK, ctx.sandbox!, ctx.state.dir, ['previous_config=/config/application.conf.missing']);
    expect(drill.code, explain(drill)).toBe(1);
    expect(drill.finished.status).toBe('failed');
    expect(drill.steps.get('check-previous')).toMatchObject({ status: 'failed' });
    expect(drill.steps.get('check-previous')?.error).toMatch(/exit code 1 \(expected 0\)/);
    expect(drill.steps.has('restore-config')).toBe(false);
    expect(drill.rollbacks).toEqual([]);

    expect(await configFiles(ctx.sandbox!)).toBe(before);
    expect((await health(ctx.sandbox!)).json).toEqual({ status: 'DOWN', version: '1.4.2' });
  });
});
