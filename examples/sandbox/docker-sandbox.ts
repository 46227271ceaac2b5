/**
 * The container side of the sandbox: Podman's Docker API, the trading service images, and a
 * compose-like project `trademaster` with the blue/green containers of `trading-service` behind a
 * small load balancer, set up in the state a DR scenario starts from. Used by the docker drills
 * (test/drills/docker-*.test.ts) and the demo.
 *
 * Traffic switching: both slots run on the host network, each on its own 127.0.0.1 port. Clients
 * use APP_URL, a reverse proxy here that forwards to the live slot; its admin API (LB_URL) is how a
 * runbook switches traffic, as it would call an nginx/HAProxy/cloud LB API:
 *   GET LB_URL/upstream → {"live":"green","slots":{"blue":"127.0.0.1:p1","green":"127.0.0.1:p2"}}
 *   PUT LB_URL/upstream {"live":"blue"} → {"live":"blue","previous":"green"}
 * The load balancer runs in the caller's process: keep its event loop free while a runbook runs
 * (spawn the CLI asynchronously; execFileSync/spawnSync would stall every request through APP_URL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from './services/free-port.js';
import { openDockerClient, type DockerClient } from '../../src/steps/docker/client.js';
import { startDockerApi, type DockerApi } from './services/docker.js';
import { BROKEN_CONFIG, ensureTradingImages, RELEASES, tradingImage } from './images/trading-images.js';

export type Slot = 'blue' | 'green';

/** The state the sandbox starts in. */
export type DockerScenario =
  /** blue (1.4.2) live and healthy; green absent. */
  | 'healthy'
  /** Scenario 2: green (1.5.0, broken) live and DOWN; blue (1.4.2) created but stopped. */
  | 'deployment-failure'
  /** Scenario 4: blue (1.4.2) live, its configuration replaced by a broken one (previous kept as …previous), restarted: DOWN. */
  | 'configuration-error';

export interface DockerSandboxOptions {
  scenario?: DockerScenario;
  /** Faults for failure drills. `lb-stale-blue`: the load balancer's blue slot points at a dead address. */
  faults?: Array<'lb-stale-blue'>;
  /** Reuse a running API (tests share one per file); otherwise one is started, and stopped by stop(). */
  api?: DockerApi;
}

export interface SandboxContainer {
  name: string;
  image: string;
  state: string;
  health: string | null;
  labels: Record<string, string>;
}

export interface DockerSandbox {
  api: DockerApi;
  project: string;
  service: string;
  /** For the runbooks: DOCKER_HOST, APP_URL (through the load balancer), LB_URL (its admin API). */
  env: { DOCKER_HOST: string; APP_URL: string; LB_URL: string };
  containers: Record<Slot, string>;
  ports: Record<Slot, number>;
  /** The slot the load balancer sends traffic to. */
  live(): Slot;
  /** The project's containers as the Docker API reports them now (stopped ones too), by name. */
  containersNow(): Promise<SandboxContainer[]>;
  /** Remove the project's containers, close the load balancer, stop the API if this sandbox started it. */
  stop(): Promise<void>;
}

export const PROJECT = 'trademaster';
export const SERVICE = 'trading-service';
const CONTAINERS: Record<Slot, string> = { blue: 'trading-service-blue', green: 'trading-service-green' };
const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';

/** Start (or reuse) the API, build the images, set up `scenario`; undefined when Podman is missing (reason printed). */
export async function startDockerSandbox(opts: DockerSandboxOptions = {}): Promise<DockerSandbox | undefined> {
  const api = opts.api ?? (await startDockerApi());
  if (!api) return undefined;
  const client = openDockerClient({ socket: api.socketPath });
  const lbServers: http.Server[] = [];
  try {
    await ensureTradingImages(api);
    await removeProject(client);
    const ports = { blue: await freePort(), green: await freePort() };
    const scenario = opts.scenario ?? 'healthy';
    const lbSlots = { ...ports, ...(opts.faults?.includes('lb-stale-blue') ? { blue: await freePort() } : {}) };
    const lb = await startLoadBalancer(lbSlots, scenario === 'deployment-failure' ? 'green' : 'blue', lbServers);
    await setUpScenario(client, scenario, ports);
    return {
      api,
      project: PROJECT,
      service: SERVICE,
      env: { DOCKER_HOST: api.host, APP_URL: lb.appUrl, LB_URL: lb.adminUrl },
      containers: { ...CONTAINERS },
      ports,
      live: lb.live,
      containersNow: () => listProject(client),
      async stop() {
        await Promise.all(lbServers.map(closeServer));
        await removeProject(client).catch(() => undefined);
        await client.close();
        if (!opts.api) await api.stop();
      },
    };
  } catch (err) {
    await Promise.all(lbServers.map(closeServer));
    await client.close();
    if (!opts.api) await api.stop();
    throw err;
  }
}

async function setUpScenario(client: DockerClient, scenario: DockerScenario, ports: Record<Slot, number>): Promise<void> {
  if (scenario === 'deployment-failure') {
    await createTrading(client, 'blue', RELEASES.stable, ports.blue);
    await createTrading(client, 'green', RELEASES.broken, ports.green);
    await startAndServe(client, 'green', ports.green);
    return;
  }
  await createTrading(client, 'blue', RELEASES.stable, ports.blue);
  await startAndServe(client, 'blue', ports.blue);
  if (scenario === 'configuration-error') {
    // The bad push: the previous file kept next to it, as the deploy tooling does.
    await execIn(client, CONTAINERS.blue, [
      'sh',
      '-c',
      'cp -p /config/application.conf /config/application.conf.previous && printf "%s" "$CONFIG" > /config/application.conf',
    ], [`CONFIG=${BROKEN_CONFIG}`]);
    await expectOk(await client.request('POST', `/containers/${CONTAINERS.blue}/restart`, { query: { t: 5 } }), 'restart blue');
    await waitServing(ports.blue, 'DOWN');
  }
}

/** A container of the trading service for `slot`: compose labels, host network, a healthcheck on /actuator/health. */
async function createTrading(client: DockerClient, slot: Slot, version: string, port: number): Promise<void> {
  const health = `wget -q -O- http://127.0.0.1:${port}/actuator/health | grep -q '"status":"UP"'`;
  const res = await client.request('POST', '/containers/create', {
    query: { name: CONTAINERS[slot] },
    body: {
      Image: tradingImage(version),
      Cmd: ['/app/start'],
      Env: [`PORT=${port}`],
      Labels: {
        [PROJECT_LABEL]: PROJECT,
        [SERVICE_LABEL]: SERVICE,
        'trademaster.slot': slot,
        'trademaster.port': String(port),
        'trademaster.version': version,
      },
      Healthcheck: { Test: ['CMD-SHELL', health], Interval: 1e9, Timeout: 2e9, Retries: 2 },
      HostConfig: { NetworkMode: 'host' },
    },
  });
  if (res.status !== 201) throw new Error(`create ${CONTAINERS[slot]}: HTTP ${res.status} ${res.text}`);
}

async function startAndServe(client: DockerClient, slot: Slot, port: number): Promise<void> {
  await expectOk(await client.request('POST', `/containers/${CONTAINERS[slot]}/start`), `start ${CONTAINERS[slot]}`);
  await waitServing(port);
}

async function expectOk(res: { status: number; text: string }, what: string): Promise<void> {
  if (res.status >= 300 && res.status !== 304) throw new Error(`${what}: HTTP ${res.status} ${res.text}`);
}

/** Poll the container's own health endpoint until it answers (with `status` when given). */
async function waitServing(port: number, status?: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = '';
  while (Date.now() < deadline) {
    last = await fetch(`http://127.0.0.1:${port}/actuator/health`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.text())
      .catch((e: Error) => e.message);
    if (last.includes('"status"') && (status === undefined || last.includes(`"status":"${status}"`))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`trading service on port ${port} not serving${status ? ` ${status}` : ''} within 20s: ${last}`);
}

/** Run `cmd` in a running container and wait for it; throws on a non-zero exit. */
async function execIn(client: DockerClient, container: string, cmd: string[], env: string[] = []): Promise<void> {
  const created = await client.request('POST', `/containers/${container}/exec`, {
    body: { Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true, Tty: false },
  });
  if (created.status !== 201) throw new Error(`exec in ${container}: HTTP ${created.status} ${created.text}`);
  const id = (created.json as { Id: string }).Id;
  await client.stream('POST', `/exec/${id}/start`, () => undefined, { body: { Detach: false, Tty: false } });
  for (let i = 0; i < 40; i++) {
    const info = (await client.request('GET', `/exec/${id}/json`)).json as { Running?: boolean; ExitCode?: number | null };
    if (!info.Running && typeof info.ExitCode === 'number') {
      if (info.ExitCode !== 0) throw new Error(`exec in ${container}: ${cmd.join(' ')} exited ${info.ExitCode}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`exec in ${container}: no exit code`);
}

async function projectIds(client: DockerClient): Promise<string[]> {
  const res = await client.request('GET', '/containers/json', {
    query: { all: 1, filters: JSON.stringify({ label: [`${PROJECT_LABEL}=${PROJECT}`] }) },
  });
  return ((res.json ?? []) as Array<{ Id: string }>).map((c) => c.Id);
}

async function listProject(client: DockerClient): Promise<SandboxContainer[]> {
  const out: SandboxContainer[] = [];
  for (const id of await projectIds(client)) {
    const res = await client.request('GET', `/containers/${id}/json`);
    if (res.status !== 200) continue;
    const c = res.json as {
      Name: string;
      Config?: { Image?: string; Labels?: Record<string, string> | null; Healthcheck?: { Test?: string[] } | null };
      State?: { Status?: string; Health?: { Status?: string } | null };
    };
    const health = c.State?.Health?.Status;
    out.push({
      name: c.Name.replace(/^\//, ''),
      image: c.Config?.Image ?? '',
      state: c.State?.Status ?? 'unknown',
      health: health ? health : null,
      labels: c.Config?.Labels ?? {},
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function removeProject(client: DockerClient): Promise<void> {
  for (const id of await projectIds(client)) {
    await client.request('DELETE', `/containers/${id}`, { query: { force: 1, v: 1 } });
  }
}

interface LoadBalancer {
  appUrl: string;
  adminUrl: string;
  live(): Slot;
}

/** The reverse proxy in front of the slots, and its admin API (both on 127.0.0.1). */
async function startLoadBalancer(slots: Record<Slot, number>, initial: Slot, servers: http.Server[]): Promise<LoadBalancer> {
  let live: Slot = initial;
  const app = http.createServer((req, res) => {
    const slot = live;
    // busybox httpd answers HEAD with a body (Node's parser rejects that): ask with GET, drop the body.
    const head = req.method === 'HEAD';
    const upstream = http.request(
      { host: '127.0.0.1', port: slots[slot], method: head ? 'GET' : req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-upstream': slot });
        if (head) {
          up.resume();
          res.end();
        } else up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) return void res.destroy();
      sendJson(res, 502, { status: 'DOWN', error: `upstream ${slot} (127.0.0.1:${slots[slot]}) unreachable: ${err.message}` });
    });
    req.pipe(upstream);
  });
  const admin = http.createServer((req, res) => {
    if (req.url !== '/upstream') return sendJson(res, 404, { error: 'not found: use /upstream' });
    if (req.method === 'GET') return sendJson(res, 200, describe());
    if (req.method !== 'PUT') return sendJson(res, 405, { error: 'GET or PUT' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      let wanted: unknown;
      try {
        wanted = (JSON.parse(body) as { live?: unknown }).live;
      } catch {
        return sendJson(res, 400, { error: 'body must be JSON {"live":"blue"|"green"}' });
      }
      if (wanted !== 'blue' && wanted !== 'green') return sendJson(res, 400, { error: `unknown slot ${JSON.stringify(wanted)}` });
      const previous = live;
      live = wanted;
      sendJson(res, 200, { ...describe(), previous });
    });
  });
  const describe = () => ({ live, slots: { blue: `127.0.0.1:${slots.blue}`, green: `127.0.0.1:${slots.green}` } });
  servers.push(app, admin);
  return { appUrl: `http://127.0.0.1:${await listen(app)}`, adminUrl: `http://127.0.0.1:${await listen(admin)}`, live: () => live };
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: http.Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

