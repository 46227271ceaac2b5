/**
 * The docker sandbox itself (examples/sandbox/docker-sandbox.ts): each scenario starts in the state
 * the DR guide describes, seen through the real Docker API and over HTTP, and the load balancer's
 * admin API switches traffic.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startDockerSandbox, type DockerSandbox } from '../../examples/sandbox/docker-sandbox.js';
import { useDocker } from '../helpers/docker.js';

const docker = await useDocker();

async function getJson(url: string, init?: RequestInit): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(docker.skip)('docker sandbox (Podman Docker API)', { timeout: 60_000 }, () => {
  let sandbox: DockerSandbox | undefined;
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('deployment-failure: green 1.5.0 live and DOWN, blue 1.4.2 created but not running', async () => {
    sandbox = await startDockerSandbox({ api: docker.api, scenario: 'deployment-failure' });
    expect(sandbox!.live()).toBe('green');
    expect(await getJson(`${sandbox!.env.APP_URL}/actuator/health`)).toEqual({
      status: 200,
      json: { status: 'DOWN', version: '1.5.0' },
    });
    const now = await sandbox!.containersNow();
    expect(now.map((c) => [c.name, c.image.replace(/^localhost\//, ''), c.state === 'running'])).toEqual([
      ['trading-service-blue', 'trademaster/trading-service:1.4.2', false],
      ['trading-service-green', 'trademaster/trading-service:1.5.0', true],
    ]);
    expect(now[1]!.labels).toMatchObject({
      'com.docker.compose.project': 'trademaster',
      'com.docker.compose.service': 'trading-service',
      'trademaster.slot': 'green',
    });
  });

  it('the load balancer admin API switches traffic and reports the previous slot', async () => {
    const { LB_URL, APP_URL } = sandbox!.env;
    const put = await getJson(`${LB_URL}/upstream`, { method: 'PUT', body: JSON.stringify({ live: 'blue' }) });
    expect(put).toMatchObject({ status: 200, json: { live: 'blue', previous: 'green' } });
    // Blue is not running: the proxy answers 502 with a DOWN body naming the slot.
    const down = await getJson(`${APP_URL}/actuator/health`);
    expect(down.status).toBe(502);
    expect(down.json.error).toMatch(/^upstream blue \(127\.0\.0\.1:\d+\) unreachable/);
    expect((await getJson(`${LB_URL}/upstream`, { method: 'PUT', body: '{"live":"purple"}' })).status).toBe(400);
    // HEAD (what `plan --preflight` sends) is answered with headers only.
    await getJson(`${LB_URL}/upstream`, { method: 'PUT', body: '{"live":"green"}' });
    const head = await fetch(`${APP_URL}/actuator/health`, { method: 'HEAD', signal: AbortSignal.timeout(5_000) });
    expect([head.status, head.headers.get('x-upstream'), await head.text()]).toEqual([200, 'green', '']);
    await getJson(`${LB_URL}/upstream`, { method: 'PUT', body: '{"live":"blue"}' });
    expect(sandbox!.live()).toBe('blue');
  });

  it('configuration-error: blue runs with a broken config, logs the errors, answers DOWN', async () => {
    await sandbox!.stop();
    sandbox = await startDockerSandbox({ api: docker.api, scenario: 'configuration-error' });
    expect(sandbox!.live()).toBe('blue');
    expect(await getJson(`${sandbox!.env.APP_URL}/actuator/health`)).toEqual({
      status: 200,
      json: { status: 'DOWN', version: '1.4.2' },
    });
    const now = await sandbox!.containersNow();
    expect(now.map((c) => [c.name, c.state])).toEqual([['trading-service-blue', 'running']]);
  });

  it('healthy: blue 1.4.2 live, UP, and its healthcheck turns healthy', async () => {
    await sandbox!.stop();
    sandbox = await startDockerSandbox({ api: docker.api, scenario: 'healthy' });
    expect(await getJson(`${sandbox!.env.APP_URL}/actuator/health`)).toEqual({
      status: 200,
      json: { status: 'UP', version: '1.4.2' },
    });
    let health: string | null = null;
    for (let i = 0; i < 50 && health !== 'healthy'; i++) {
      health = (await sandbox!.containersNow())[0]!.health;
      if (health !== 'healthy') await new Promise((r) => setTimeout(r, 200));
    }
    expect(health).toBe('healthy');
  });
});
