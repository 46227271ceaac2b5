/**
 * The `docker` step type against the real Docker Engine API (Podman's service, see
 * examples/sandbox/services/docker.ts). Every container is created here and removed in afterAll.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerConnection, dockerStep, type DockerBody } from '../../src/steps/docker/index.js';
import { FOLLOW_GRACE_MS } from '../../src/steps/docker/run.js';
import type { DockerClient, DockerConnectionConfig } from '../../src/steps/docker/client.js';
import type { PreflightCheck } from '../../src/steps/types.js';
import { BUSYBOX_IMAGE, useDocker } from '../helpers/docker.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';
import { resolveValue } from '../../src/interpreter/resolve.js';

const docker = await useDocker();

// A container that runs until told to stop, and stops at once on SIGTERM (busybox sleep as PID 1 would not).
const LONG_RUNNING = 'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done';

// Shared across tests as the interpreter shares them across a run's steps: the API version is
// negotiated once per client (Podman's GET /version spawns conmon and runc to read their versions).
const clients = new Map<string, Promise<unknown>>();

// A plain TCP port in front of the socket, to drive the `tcp://` path against the same real API.
let forwarder: Server | undefined;

type FollowFault = 'ends early' | 'never ends';
// The real API behind an HTTP server of ours whose followed logs misbehave as Podman's can: one that
// ends at once, before any line (podman#10675: the follow can end before the container's last
// lines), or one that never ends (Podman can miss the container's exit). Every other request passes.
const faulty = new Map<FollowFault, HttpServer>();
function followFaults(fault: FollowFault): HttpServer {
  return createHttpServer((req, res) => {
    if (/\/logs\?/.test(req.url ?? '') && /[?&]follow=(1|true)\b/.test(req.url ?? '')) {
      res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
      if (fault === 'ends early') res.end();
      else res.flushHeaders();
      return;
    }
    const upstream = httpRequest({ socketPath: docker.api.socketPath, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}
/** `tcp://` on loopback to the port that one of the servers above listens on. */
const tcpHost = (server: Server | HttpServer | undefined) => `tcp://127.0.0.1:${(server?.address() as AddressInfo | null)?.port}`;

function connections(): Record<string, DockerConnectionConfig> {
  return {
    engine: { socket: docker.api.socketPath, project: 'shop' },
    plain: { host: docker.api.host },
    missing: { socket: '/nonexistent/runbook/docker.sock' },
    'follow-ends-early': { host: tcpHost(faulty.get('ends early')) },
    'follow-never-ends': { host: tcpHost(faulty.get('never ends')) },
    tcp: { host: tcpHost(forwarder), project: 'shop' },
    // Nothing set: DOCKER_HOST of the run's environment (below) decides.
    default: {},
  };
}

function harness(signal?: AbortSignal) {
  return stepHarness({
    signal,
    stepId: 'docker-step',
    env: { ...process.env },
    connections: {
      kind: 'docker',
      cache: clients,
      open: (name) => {
        const env = name === 'default' ? { DOCKER_HOST: docker.api.host } : {};
        return dockerConnection.open(connections()[name], { runId: 'test-run', baseDir: process.cwd(), env });
      },
    },
  });
}

const exec = (body: Omit<DockerBody, 'connection'> & { connection?: string }, h = harness()) =>
  dockerStep.execute({ connection: 'engine', ...body } as DockerBody, h.ctx);

/** The real state, straight from the API (not through the step). */
async function inspectRaw(name: string): Promise<{ State: { Status: string; ExitCode: number; StartedAt: string } } | undefined> {
  const client = (await harness().ctx.connection('plain', 'docker')) as DockerClient;
  const res = await client.request('GET', `/containers/${name}/json`);
  return res.status === 200 ? (res.json as { State: { Status: string; ExitCode: number; StartedAt: string } }) : undefined;
}

async function startLongRunning(name: string, labels: Record<string, string> = {}): Promise<void> {
  const result = await exec({ action: 'run', image: BUSYBOX_IMAGE, name, cmd: LONG_RUNNING, labels, detach: true });
  expect(result.containers).toMatchObject([{ name, state: 'running' }]);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GET the URL, retrying while the server inside the container is still starting. */
async function getWhenUp(url: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const res = await request(url);
      return await res.body.text();
    } catch (err) {
      if (i >= 40) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function imageId(name: string): Promise<string> {
  const client = (await harness().ctx.connection('plain', 'docker')) as DockerClient;
  return ((await client.request('GET', `/images/${name}/json`)).json as { Id: string }).Id;
}


// Each call is a real round trip to Podman (tens of ms, much more on a busy 2-core machine).
describe.skipIf(docker.skip)('docker step (Podman Docker API)', { timeout: 20_000 }, () => {
  const web = { 'com.docker.compose.service': 'web', 'com.docker.compose.project': 'shop' };
  beforeAll(async () => {
    forwarder = createServer((socket) => socket.pipe(connect(docker.api.socketPath)).pipe(socket));
    await new Promise<void>((resolve) => forwarder!.listen(0, '127.0.0.1', resolve));
    for (const fault of ['ends early', 'never ends'] as const) {
      const server = followFaults(fault);
      faulty.set(fault, server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    await startLongRunning('web-1', web);
    await startLongRunning('web-2', web);
    // Same service name in another project: `project: shop` must leave it alone.
    await startLongRunning('other-web', { ...web, 'com.docker.compose.project': 'other' });
    await exec({
      action: 'run',
      image: BUSYBOX_IMAGE,
      name: 'chatty',
      cmd: 'for i in 1 2 3 4 5; do echo line$i; done; echo oops >&2; exec sleep 60',
      detach: true,
    });
  }, 30_000);
  afterAll(async () => {
    await Promise.all([...clients.values()].map(async (c) => ((await c.catch(() => undefined)) as DockerClient | undefined)?.close()));
    await new Promise((resolve) => forwarder?.close(resolve));
    for (const server of faulty.values()) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('negotiates the API version and passes preflight', async () => {
    const client = (await harness().ctx.connection('engine', 'docker')) as DockerClient;
    expect(await client.apiVersion()).toBe('v1.41');
    // The docker kind reports one line (a kind may report several: PreflightCheck[]).
    const check = (await dockerConnection.preflight!(client, connections().engine)) as PreflightCheck;
    expect(check).toMatchObject({ ok: true, target: `docker unix://${docker.api.socketPath} (project shop)` });
    expect(check.detail).toMatch(/API 1\.41 \(using v1\.41\)/);
  });

  it('reaches the API over tcp:// and through DOCKER_HOST', async () => {
    const overTcp = await exec({ connection: 'tcp', action: 'ps', service: 'web' });
    expect((overTcp.containers as Array<{ name: string }>).map((c) => c.name)).toEqual(['web-1', 'web-2']);
    const byEnv = await exec({ connection: 'default', action: 'inspect', container: 'web-1' });
    expect(byEnv.containers).toMatchObject([{ name: 'web-1', state: 'running' }]);
    expect(dockerConnection.describe!({ host: 'tcp://10.1.2.3:2375', project: 'shop' })).toBe('tcp://10.1.2.3:2375 (project shop)');
  });

  it('images with extra files serve a health document with busybox httpd (the DR drills’ service)', async () => {
    await docker.api.ensureImage('drill-service:v1', { '/www/health': '{"status":"UP","version":"v1"}\n' });
    await docker.api.ensureImage('drill-service:v2', { '/www/health': '{"status":"UP","version":"v2"}\n' });
    const port = await freePort();
    for (const version of ['v1', 'v2']) {
      await exec({
        action: 'run',
        image: `drill-service:${version}`,
        name: `drill-${version}`,
        cmd: ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www'],
        labels: { 'com.docker.compose.service': 'drill', 'com.docker.compose.project': 'shop' },
        detach: true,
      });
      const body = await getWhenUp(`http://127.0.0.1:${port}/health`);
      expect(JSON.parse(body)).toEqual({ status: 'UP', version });
      await exec({ action: 'stop', service: 'drill', grace: 1 });
      await exec({ action: 'ps', all: true, service: 'drill' }).then((r) =>
        expect((r.containers as Array<{ state: string }>).every((c) => c.state === 'exited')).toBe(true),
      );
    }
    // Same files again: kept as it is (no re-import); other files: re-imported.
    const before = await imageId('drill-service:v1');
    await docker.api.ensureImage('drill-service:v1', { '/www/health': '{"status":"UP","version":"v1"}\n' });
    expect(await imageId('drill-service:v1')).toBe(before);
    await docker.api.ensureImage('drill-service:v1', { '/www/health': 'changed' });
    expect(await imageId('drill-service:v1')).not.toBe(before);
  });

  it('run: echo gives exit code 0 and its stdout, streams it, and removes the container', async () => {
    const h = harness();
    const result = await exec({ action: 'run', image: BUSYBOX_IMAGE, name: 'echoer', cmd: ['echo', 'hello', 'world'] }, h);
    expect(result).toMatchObject({ exit_code: 0, stdout: 'hello world\n', stderr: '', containers: [{ name: 'echoer', state: 'exited' }] });
    expect(h.output.map((c) => [c.stream, c.text])).toEqual([['stdout', 'hello world\n']]);
    expect(await inspectRaw('echoer')).toBeUndefined();
  });

  it('run: env, stderr, and a non-zero exit fail the step unless expected', async () => {
    const body = { action: 'run' as const, image: BUSYBOX_IMAGE, cmd: 'echo "$GREETING"; echo bad >&2; exit 3', env: { GREETING: 'hi' } };
    const err = await failureOf(exec(body));
    expect(err.message).toBe(`docker run ${BUSYBOX_IMAGE}: exit code 3 (expected 0): bad`);
    expect(err.result).toMatchObject({ exit_code: 3, stdout: 'hi\n', stderr: 'bad\n' });
    expect(await exec({ ...body, expect_exit: [3] })).toMatchObject({ exit_code: 3 });
  });

  it.each(['ends early', 'never ends'] as const)('run: the result and the live output hold every line when the followed log %s', async (fault) => {
    const h = harness();
    const connection = fault === 'ends early' ? 'follow-ends-early' : 'follow-never-ends';
    const t0 = performance.now();
    const err = await failureOf(exec({ connection, action: 'run', image: BUSYBOX_IMAGE, cmd: 'echo hi; echo bad >&2; exit 3' }, h));
    // The container's last line is the reason the run failed: it must reach the message.
    expect(err.message).toBe(`docker run ${BUSYBOX_IMAGE}: exit code 3 (expected 0): bad`);
    expect(err.result).toMatchObject({ exit_code: 3, stdout: 'hi\n', stderr: 'bad\n' });
    // The follow delivered nothing: live output got each line once, from the log read after the exit.
    const live = (stream: string) => h.output.filter((c) => c.stream === stream).map((c) => c.text).join('');
    expect([live('stdout'), live('stderr')]).toEqual(['hi\n', 'bad\n']);
    // A follow that never ends is dropped after the grace period, not waited for.
    if (fault === 'never ends') expect(performance.now() - t0).toBeGreaterThanOrEqual(FOLLOW_GRACE_MS);
  });

  it('run: remove false keeps the exited container', async () => {
    await exec({ action: 'run', image: BUSYBOX_IMAGE, name: 'kept', cmd: ['true'], remove: false });
    expect((await inspectRaw('kept'))?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
  });

  it('run: a missing image is named', async () => {
    const err = await failureOf(exec({ action: 'run', image: 'no-such-image:1' }));
    expect(err.message).toMatch(/^docker run: no such image 'no-such-image:1' at unix:\/\//);
  });

  it('stop and start by container, with a short grace', async () => {
    const started = Date.now();
    const stopped = await exec({ action: 'stop', container: 'web-1', grace: '5s' });
    expect(Date.now() - started).toBeLessThan(4_000); // the trap exits at once, well before the grace
    expect(stopped.containers).toMatchObject([{ name: 'web-1', state: 'exited', health: null }]);
    expect((await inspectRaw('web-1'))?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
    const again = await exec({ action: 'start', container: 'web-1' });
    expect(again.containers).toMatchObject([{ name: 'web-1', state: 'running' }]);
    expect((await inspectRaw('web-1'))?.State.Status).toBe('running');
  });

  it('stop, start and restart by service act on every container of the project', async () => {
    const stopped = await exec({ action: 'stop', service: 'web', grace: 1 });
    expect(stopped.containers).toMatchObject([
      { name: 'web-1', state: 'exited' },
      { name: 'web-2', state: 'exited' },
    ]);
    expect((await inspectRaw('web-2'))?.State.Status).toBe('exited');
    expect((await inspectRaw('other-web'))?.State.Status).toBe('running');

    await exec({ action: 'start', service: 'web' });
    expect((await inspectRaw('web-1'))?.State.Status).toBe('running');
    expect((await inspectRaw('web-2'))?.State.Status).toBe('running');

    const before = (await inspectRaw('web-2'))!.State.StartedAt;
    const restarted = await exec({ action: 'restart', service: 'web', grace: '1s' });
    expect(restarted.containers).toMatchObject([
      { name: 'web-1', state: 'running' },
      { name: 'web-2', state: 'running' },
    ]);
    expect((await inspectRaw('web-2'))!.State.StartedAt).not.toBe(before);
  });

  it('without a project, service matches across projects', async () => {
    const result = await exec({ connection: 'plain', action: 'inspect', service: 'web' });
    expect((result.containers as Array<{ name: string }>).map((c) => c.name)).toEqual(['other-web', 'web-1', 'web-2']);
  });

  it('inspect reports id, name, image, state and health', async () => {
    const result = await exec({ action: 'inspect', container: 'web-1' });
    const raw = await inspectRaw('web-1');
    expect(result.containers).toEqual([
      // Podman reports the image name as it resolved it.
      { id: (raw as unknown as { Id: string }).Id, name: 'web-1', image: `localhost/${BUSYBOX_IMAGE}`, state: 'running', health: null },
    ]);
  });

  it('logs: the last lines, stdout and stderr demultiplexed and streamed', async () => {
    const h = harness();
    const result = await exec({ action: 'logs', container: 'chatty', tail: 3 }, h);
    expect(result.logs).toBe('line4\nline5\noops\n');
    expect(h.text('stderr')).toBe('oops\n');
    expect(h.text('stdout')).toBe('line4\nline5\n');
    const all = await exec({ action: 'logs', container: 'chatty', tail: 'all' });
    expect(all.logs).toBe('line1\nline2\nline3\nline4\nline5\noops\n');
  });

  it('logs of a service prefix each line with its container', async () => {
    const result = await exec({ action: 'logs', service: 'web', tail: 1 });
    expect(result.logs).toBe('web-1 | started\nweb-2 | started\n');
  });

  it('logs of a TTY container are raw, not framed', async () => {
    const client = (await harness().ctx.connection('plain', 'docker')) as DockerClient;
    const created = await client.request('POST', '/containers/create', {
      query: { name: 'tty' },
      // One write: two writes (stdout, then stderr) to the same pty can reach Podman's log reader
      // with the terminal's \r\n translation interleaved ('one\rtwo\n\r\n'), seen under load.
      body: { Image: BUSYBOX_IMAGE, Tty: true, Cmd: ['sh', '-c', "printf 'one\\ntwo\\n'"], HostConfig: { NetworkMode: 'host' } },
    });
    expect(created.status).toBe(201);
    await client.request('POST', '/containers/tty/start');
    await client.request('POST', '/containers/tty/wait');
    const result = await exec({ action: 'logs', container: 'tty' });
    expect(result.logs).toBe('one\r\ntwo\r\n');
  });

  it('exec: output, env and exit code', async () => {
    const h = harness();
    const result = await exec(
      { action: 'exec', container: 'web-1', cmd: 'echo "out $X"; echo err >&2; exit 3', env: { X: 42 }, expect_exit: 3 },
      h,
    );
    expect(result).toMatchObject({ exit_code: 3, stdout: 'out 42\n', stderr: 'err\n', execs: [{ container: 'web-1', exit_code: 3 }] });
    expect(h.output).toContainEqual(expect.objectContaining({ stream: 'stdout', text: 'out 42\n' }));
    const err = await failureOf(exec({ action: 'exec', container: 'web-1', cmd: ['sh', '-c', 'echo nope >&2; exit 2'] }));
    expect(err.message).toBe('docker exec in web-1: exit code 2 (expected 0): nope');
  });

  it('a string cmd gets interpolated values as environment variables: nothing injected, in run and exec (spec §12)', async () => {
    const evil = `$(touch /tmp/pwned) \`touch /tmp/pwned\` "q" 'sq' ; touch /tmp/pwned \\`;
    const scope = { params: { x: evil } };
    const body = (action: 'run' | 'exec') =>
      resolveValue(
        { action, ...(action === 'run' ? { image: BUSYBOX_IMAGE } : { container: 'web-1' }), cmd: 'echo "v: ${{ params.x }}"; printf "%s|" ${{ params.x }}; cat <<EOF\n${{ params.x }}\nEOF\ntest ! -e /tmp/pwned' },
        scope,
        { quoteFields: dockerStep.shellQuoted },
      ) as DockerBody;
    for (const action of ['run', 'exec'] as const) {
      const result = await exec(body(action));
      expect(result, action).toMatchObject({ exit_code: 0, stdout: `v: ${evil}\n${evil}|${evil}\n` });
    }
  });

  it('exec on a service runs in every container', async () => {
    const result = await exec({ action: 'exec', service: 'web', cmd: ['hostname'] });
    expect((result.execs as Array<{ container: string; exit_code: number }>).map((e) => [e.container, e.exit_code])).toEqual([
      ['web-1', 0],
      ['web-2', 0],
    ]);
  });

  it('wait_healthy: a running container without a healthcheck is ready at once', async () => {
    const result = await exec({ action: 'wait_healthy', service: 'web' });
    expect(result.containers).toMatchObject([
      { name: 'web-1', state: 'running', health: null },
      { name: 'web-2', state: 'running', health: null },
    ]);
  });

  it('wait_healthy: waits for the healthcheck to pass', async () => {
    const client = (await harness().ctx.connection('plain', 'docker')) as DockerClient;
    const created = await client.request('POST', '/containers/create', {
      query: { name: 'checked' },
      body: {
        Image: BUSYBOX_IMAGE,
        Cmd: ['sh', '-c', LONG_RUNNING],
        Healthcheck: { Test: ['CMD', 'test', '-f', '/tmp/ready'], Interval: 300_000_000, Timeout: 2_000_000_000, Retries: 1 },
        HostConfig: { NetworkMode: 'host' },
      },
    });
    expect(created.status).toBe(201);
    await exec({ action: 'start', container: 'checked' });
    const h = harness();
    const waiting = exec({ action: 'wait_healthy', container: 'checked' }, h);
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await inspectRaw('checked'))?.State.Status).toBe('running');
    await exec({ action: 'exec', container: 'checked', cmd: 'touch /tmp/ready' });
    const result = await waiting;
    expect(result.containers).toMatchObject([{ name: 'checked', state: 'running', health: 'healthy' }]);
    expect(h.progress.some((p) => /^checked running \((starting|unhealthy)\)$/.test(p.message ?? ''))).toBe(true);
  }, 20_000);

  it('wait_healthy: an abort ends it promptly, naming the state', async () => {
    // Created, never started: it could still be started by someone, so the step keeps waiting.
    const client = (await harness().ctx.connection('plain', 'docker')) as DockerClient;
    const created = await client.request('POST', '/containers/create', {
      query: { name: 'idle' },
      body: { Image: BUSYBOX_IMAGE, Cmd: ['true'], HostConfig: { NetworkMode: 'host' } },
    });
    expect(created.status).toBe(201);
    const started = Date.now();
    const err = await failureOf(exec({ action: 'wait_healthy', container: 'idle' }, harness(AbortSignal.timeout(800))));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.code).toBe('STEP_TIMEOUT');
    expect(err.message).toMatch(/^docker: container 'idle' not healthy when timed out \(.*\): idle (created|configured)$/);
    expect(err.result).toMatchObject({ containers: [{ name: 'idle' }] });
  });

  it('wait_healthy: a container that exited (no restart policy) fails at once instead of waiting out the timeout', async () => {
    await exec({ action: 'run', image: BUSYBOX_IMAGE, name: 'dead', cmd: ['sh', '-c', 'exit 3'], remove: false, expect_exit: [3] });
    const started = Date.now();
    const err = await failureOf(exec({ action: 'wait_healthy', container: 'dead' }, harness(AbortSignal.timeout(30_000))));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err.code).toBe('CONTAINER_EXITED');
    expect(err.message).toBe("docker: container 'dead' will not become healthy: dead exited (exit code 3)");
    expect(err.result).toMatchObject({ containers: [{ name: 'dead', state: 'exited' }] });
  });

  it('run: an abort kills and removes the container promptly', async () => {
    const controller = new AbortController();
    const h = harness(controller.signal);
    const running = exec({ action: 'run', image: BUSYBOX_IMAGE, name: 'sleeper', cmd: 'echo going; sleep 30' }, h);
    setTimeout(() => controller.abort(new Error('operator abort')), 1_000);
    const started = Date.now();
    const err = await failureOf(running);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err.code).toBe('STEP_CANCELLED');
    expect(err.message).toMatch(/^docker run runbook-busybox:latest: cancelled \(operator abort\); container [0-9a-f]{12} killed and removed$/);
    expect(h.output).toContainEqual(expect.objectContaining({ stream: 'stdout', text: 'going\n' }));
    expect(await inspectRaw('sleeper')).toBeUndefined();
  });

  it('kill sends the signal', async () => {
    await startLongRunning('victim');
    const result = await exec({ action: 'kill', container: 'victim' });
    expect(result.containers).toMatchObject([{ name: 'victim', state: 'exited' }]);
    expect((await inspectRaw('victim'))?.State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    await startLongRunning('polite');
    await exec({ action: 'kill', container: 'polite', signal: 'SIGTERM' });
    await new Promise((r) => setTimeout(r, 500));
    expect((await inspectRaw('polite'))?.State).toMatchObject({ Status: 'exited', ExitCode: 0 });
  });

  it('ps: filters, service and all', async () => {
    const project = await exec({ action: 'ps', filters: { label: 'com.docker.compose.project=shop' } });
    expect((project.containers as Array<{ name: string }>).map((c) => c.name)).toEqual(['web-1', 'web-2']);
    const service = await exec({ action: 'ps', service: 'web' });
    expect(service).toMatchObject({ count: 2, containers: [{ name: 'web-1', state: 'running' }, { name: 'web-2', state: 'running' }] });
    const exited = await exec({ action: 'ps', all: true, filters: { status: ['exited'], name: 'kept' } });
    expect(exited.containers).toMatchObject([{ name: 'kept', state: 'exited' }]);
    expect((await exec({ action: 'ps', filters: { name: 'kept' } })).containers).toEqual([]);
  });

  it('images: by reference', async () => {
    const result = await exec({ action: 'images', reference: 'runbook-busybox' });
    expect(result.count).toBe(1);
    expect(result.images).toMatchObject([{ tags: ['localhost/runbook-busybox:latest'] }]);
    expect((await exec({ action: 'images', reference: 'nothing-like-this' })).images).toEqual([]);
  });

  it('a missing container or service is named', async () => {
    const noContainer = await failureOf(exec({ action: 'stop', container: 'nope' }));
    expect(noContainer.message).toBe(`docker: no such container 'nope' at unix://${docker.api.socketPath}`);
    const noService = await failureOf(exec({ action: 'restart', service: 'ghost' }));
    expect(noService.message).toBe(
      `docker: no container of service 'ghost' (project 'shop') at unix://${docker.api.socketPath} ` +
        '(looked for label com.docker.compose.service=ghost, com.docker.compose.project=shop)',
    );
  });

  it('a missing socket is a clear error', async () => {
    const err = await failureOf(exec({ connection: 'missing', action: 'ps' }));
    expect(err.message).toBe('docker: cannot reach the Docker API at unix:///nonexistent/runbook/docker.sock: no such socket (ENOENT)');
    const client = (await harness().ctx.connection('missing', 'docker')) as DockerClient;
    expect(await dockerConnection.preflight!(client, connections().missing)).toMatchObject({ ok: false });
  });

  it('preflight of a step names its target', async () => {
    const h = harness();
    expect(await dockerStep.preflight!({ connection: 'engine', action: 'stop', service: 'web' }, h.ctx)).toEqual([
      { target: "service 'web' (project 'shop')", ok: true, detail: 'web-1 running, web-2 running' },
    ]);
    expect(await dockerStep.preflight!({ connection: 'engine', action: 'start', container: 'nope' }, h.ctx)).toMatchObject([
      { ok: false },
    ]);
  });
});

describe('docker schema and rendering', () => {
  // strict: false, as in sql.test.ts: the schemas carry errorMessage (words for a pattern), a keyword ajv does not know.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(dockerStep.schema);
  const validateConnection = ajv.compile(dockerConnection.schema);
  const errors = (body: unknown) => (validate(body) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

  it('requires each action’s fields', () => {
    expect(errors({ connection: 'e', action: 'stop', service: 'web', grace: '10s' })).toEqual([]);
    expect(errors({ connection: 'e', action: 'exec', container: 'db' })).toContain(" must have required property 'cmd'");
    expect(errors({ connection: 'e', action: 'run' })).toContain(" must have required property 'image'");
    expect(errors({ connection: 'e', action: 'stop' })).toContain(" must have required property 'container'");
    expect(errors({ connection: 'e', action: 'stop', container: 'a', service: 'b' })).not.toEqual([]);
    expect(errors({ connection: 'e', action: 'stop', container: 'a', grace: 'soon' })).not.toEqual([]);
    expect(errors({ connection: 'e', action: 'ps', colour: 'red' })).toContain(' must NOT have additional properties');
    expect(errors({ connection: 'e', action: 'reboot', container: 'a' })).not.toEqual([]);
  });

  it('checks the connection', () => {
    expect(validateConnection({ socket: '/var/run/docker.sock', project: 'shop' })).toBe(true);
    expect(validateConnection({ host: 'tcp://10.0.0.5:2375', api_version: '1.41' })).toBe(true);
    // socket with a non-ssh host: refused by the semantic check (check-remote-connections.ts), in words.
    expect(validateConnection({ via: 'db-host', host: 'tcp://b:1' })).toBe(false);
    expect(validateConnection({ host: 'ssh://deploy@10.0.0.7', socket: '/run/podman/podman.sock', known_hosts: './known_hosts' })).toBe(true);
    expect(validateConnection({ url: 'x' })).toBe(false);
  });

  it('renders a step for plan', () => {
    expect(dockerStep.render({ connection: 'engine', action: 'stop', service: 'trading-service', grace: '10s' })).toBe(
      'docker stop service trading-service (grace 10s) @engine',
    );
    expect(dockerStep.render({ connection: 'engine', action: 'run', image: 'busybox', cmd: ['echo', 'hi'] })).toBe(
      'docker run busybox echo hi @engine',
    );
  });
});
