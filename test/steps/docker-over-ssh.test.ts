// The Docker Engine API on SSH hosts (spec §9) against Podman's real service and real sshd "hosts":
// `host: ssh://user@host[:port]/socket` (host key verified from known_hosts or a fingerprint, never
// skipped), `via: <ssh connection>` (its pooled connection), and a docker step with `on:` that talks
// to each host's engine through the host's pooled connection. Containers are started and their state
// read back straight from the engine; what cannot be reached is named with its host.
//
// Podman's socket belongs to root. The test gives it (in a folder of its own, 0700) to the ssh test
// user, as membership of the `docker` group does on a real host — only that user and root can use it,
// and it is gone with the service at the end of the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerConnection, dockerStep, type DockerBody } from '../../src/steps/docker/index.js';
import type { DockerClient, DockerConnectionConfig } from '../../src/steps/docker/client.js';
import { sshConnection, type SshHosts } from '../../src/steps/ssh/index.js';
import { SshPool } from '../../src/transport/ssh/pool.js';
import { fingerprint } from '../../src/transport/ssh/host-key.js';
import type { RunEvent } from '../../src/interpreter/events.js';
import { BUSYBOX_IMAGE, useDocker } from '../helpers/docker.js';
import { ensureTestUser, startProxy, stopProcess, useSshd, type SshdCluster } from '../helpers/sshd.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';
import { establishedTo } from '../helpers/sockets.js';
import { runCli } from '../helpers/cli.js';

const sshd = await useSshd(2);
const docker = sshd.skip ? { skip: true as const, api: undefined as never } : await useDocker({ socketOwner: ensureTestUser() });
const root = mkdtempSync(join(tmpdir(), 'rb-docker-ssh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Runs until told to stop, and stops at once on SIGTERM (busybox sleep as PID 1 would not).
const LONG_RUNNING = 'trap "exit 0" TERM; while true; do sleep 0.1; done';

const sshUrl = (c: SshdCluster, i: number, socket = docker.api.socketPath) => `ssh://${c.user}@${c.hosts[i].address}:${c.hosts[i].port}${socket}`;

/** The engine straight from its socket (not through ssh): what really happened. */
async function stateOf(name: string): Promise<string | undefined> {
  const client = (await dockerConnection.open({ socket: docker.api.socketPath }, { runId: 'check', baseDir: root, env: {} })) as DockerClient;
  try {
    const res = await client.request('GET', `/containers/${name}/json`);
    return res.status === 200 ? (res.json as { State: { Status: string } }).State.Status : undefined;
  } finally {
    await client.close();
  }
}

describe.skipIf(sshd.skip || docker.skip)('docker on an ssh host', { timeout: 30_000 }, () => {
  const ssh = new SshPool();
  const opened: DockerClient[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.close()));
    await ssh.close(0);
  });

  function harness(connections: Record<string, DockerConnectionConfig>, sshConnections: Record<string, Parameters<typeof sshConnection.open>[0]> = {}, pool = ssh) {
    const openCtx = { runId: 'docker-ssh', baseDir: root, env: {}, services: { ssh: pool } };
    const sshOpened = new Map<string, Promise<SshHosts>>();
    const connection = <T,>(name: string) => {
      if (!sshOpened.has(name)) sshOpened.set(name, Promise.resolve(sshConnection.open(sshConnections[name], { ...openCtx, name })));
      return sshOpened.get(name) as Promise<T>;
    };
    return stepHarness({
      connections: {
        kind: 'docker',
        open: async (name) => {
          const client = await dockerConnection.open(connections[name], { ...openCtx, name, connection });
          opened.push(client);
          return client;
        },
      },
    });
  }

  const exec = (h: ReturnType<typeof harness>, body: Omit<DockerBody, 'connection'>, connection = 'engine') =>
    dockerStep.execute({ connection, ...body } as DockerBody, h.ctx);

  it('host: ssh://user@host:port/socket starts a container and reads its state back, host key from known_hosts', async () => {
    const c = sshd.cluster;
    const h = harness({ engine: { host: sshUrl(c, 0), key_file: c.keyFile, known_hosts: c.knownHosts } });
    const run = await exec(h, { action: 'run', image: BUSYBOX_IMAGE, name: 'over-ssh', cmd: LONG_RUNNING, detach: true });
    expect(run.containers).toMatchObject([{ name: 'over-ssh', state: 'running' }]);
    expect(await stateOf('over-ssh')).toBe('running');
    const inspected = await exec(h, { action: 'inspect', container: 'over-ssh' });
    expect(inspected.containers).toMatchObject([{ name: 'over-ssh', state: 'running', image: expect.stringContaining('runbook-busybox') }]);
    const stopped = await exec(h, { action: 'stop', container: 'over-ssh', grace: '2s' });
    expect(stopped.containers).toMatchObject([{ name: 'over-ssh', state: 'exited' }]);
    expect(await stateOf('over-ssh')).toBe('exited');
    const client = await h.ctx.connection<DockerClient>('engine', 'docker');
    expect(client.where).toBe(`ssh://${c.user}@${c.hosts[0].address}:${c.hosts[0].port}${docker.api.socketPath}`);
    expect(await dockerConnection.preflight!(client, { host: sshUrl(c, 0) })).toMatchObject({ ok: true, target: `docker ${client.where}`, detail: expect.stringMatching(/^Podman Engine \S+, API/) });
  });

  it('a host_key fingerprint works as well; a wrong one fails before any request, naming the host and both keys', async () => {
    const c = sshd.cluster;
    const actual = fingerprint(Buffer.from(c.hosts[0].publicKey.split(' ')[1], 'base64'));
    const good = harness({ engine: { host: sshUrl(c, 0), key_file: c.keyFile, host_key: actual } });
    expect((await exec(good, { action: 'ps', all: true })).containers).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'over-ssh' })]));
    const wrongKey = fingerprint(Buffer.from(c.hosts[1].publicKey.split(' ')[1], 'base64'));
    // A run of its own (its own pool): the good run's connection to that host is already verified.
    const other = new SshPool();
    try {
      const bad = harness({ engine: { host: sshUrl(c, 0), key_file: c.keyFile, host_key: wrongKey } }, {}, other);
      const err = await failureOf(exec(bad, { action: 'ps' }));
      expect(err.message).toMatch(new RegExp(`^docker: cannot reach the Docker API at ${sshUrl(c, 0).replace(/[.]/g, '\\.')}: `));
      expect(err.message).toContain(c.hosts[0].address);
      expect(err.message).toContain(wrongKey);
      expect(err.message).toContain(actual);
    } finally {
      await other.close(0);
    }
  });

  it('via: an ssh connection’s pooled connection, shared with everything else on that host', async () => {
    const c = sshd.cluster;
    const before = establishedTo(c.hosts[1].address, c.hosts[1].port);
    const h = harness(
      { engine: { via: 'box', socket: docker.api.socketPath, project: 'shop' } },
      { box: { host: c.hosts[1].address, port: c.hosts[1].port, user: c.user, key_file: c.keyFile, known_hosts: c.knownHosts } },
    );
    const labels = { 'com.docker.compose.service': 'api', 'com.docker.compose.project': 'shop' };
    await exec(h, { action: 'run', image: BUSYBOX_IMAGE, name: 'via-1', cmd: LONG_RUNNING, labels, detach: true });
    const ps = await exec(h, { action: 'ps', service: 'api' });
    expect(ps.containers).toMatchObject([{ name: 'via-1', state: 'running' }]);
    const box = await h.ctx.connection<DockerClient>('engine', 'docker');
    expect(box.where).toBe(`unix://${docker.api.socketPath} on ${c.hosts[1].address}`);
    expect(establishedTo(c.hosts[1].address, c.hosts[1].port)).toBe(before + 1);
    await exec(h, { action: 'kill', container: 'via-1' });
    expect(await stateOf('via-1')).not.toBe('running');
  });

  it('a partition mid-request fails the step with "connection lost", naming the host', async () => {
    const c = sshd.cluster;
    const h = c.hosts[0];
    const proxy = await startProxy(h.address, h.port);
    const pool = new SshPool();
    try {
      const hostKey = fingerprint(Buffer.from(h.publicKey.split(' ')[1], 'base64'));
      const engine = `ssh://${c.user}@${h.address}:${proxy.port}${docker.api.socketPath}`;
      const hh = harness({ engine: { host: engine, key_file: c.keyFile, host_key: hostKey, keepalive: '1s' } }, {}, pool);
      // remove: false, else the removal afterwards waits out its own bound on the dead path
      const running = exec(hh, { action: 'run', image: BUSYBOX_IMAGE, name: 'cut-off', cmd: 'sleep 30', remove: false });
      for (const end = Date.now() + 15_000; (await stateOf('cut-off')) !== 'running'; ) {
        if (Date.now() > end) throw new Error('the container did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      process.kill(proxy.process.pid!, 'SIGSTOP');
      const t0 = Date.now();
      const err = await failureOf(running);
      expect(Date.now() - t0).toBeLessThan(6000);
      expect(err.message).toMatch(new RegExp(`connection lost to ${h.address.replace(/\./g, '\\.')}: no answer to 3 keepalives`));
    } finally {
      process.kill(proxy.process.pid!, 'SIGCONT');
      await stopProcess(proxy.process);
      await pool.close(0);
    }
  });

  it('a socket the host does not have is named, with the host', async () => {
    const c = sshd.cluster;
    const h = harness({ engine: { host: sshUrl(c, 0, '/nonexistent/docker.sock'), key_file: c.keyFile, known_hosts: c.knownHosts } });
    const err = await failureOf(exec(h, { action: 'ps' }));
    expect(err.message).toBe(
      `docker: cannot reach the Docker API at ${sshUrl(c, 0, '/nonexistent/docker.sock')}: ${c.hosts[0].address} could not open /nonexistent/docker.sock (open failed): no such socket there, or ${c.user} may not use it`,
    );
  });

  it('settings that cannot work are refused when the connection opens', async () => {
    const c = sshd.cluster;
    const h = harness({ a: { socket: '/x.sock', known_hosts: c.knownHosts }, b: { host: 'ssh://u:secret@h/x' }, c: { host: sshUrl(c, 0, '/a.sock'), socket: '/b.sock' } });
    expect((await failureOf(exec(h, { action: 'ps' }, 'a'))).message).toBe("docker connection 'a': known_hosts apply only to host: ssh://…");
    expect((await failureOf(exec(h, { action: 'ps' }, 'b'))).message).toBe("docker connection 'b': docker host: a password in an ssh:// URL is not supported (use key or key_file)");
    expect((await failureOf(exec(h, { action: 'ps' }, 'c'))).message).toMatch(/names socket \/a\.sock and socket: says \/b\.sock; keep one$/);
  });
});

describe.skipIf(sshd.skip || docker.skip)('docker steps with on: (fan-out), through the CLI', { timeout: 60_000 }, () => {
  let n = 0;
  function runbook(c: SshdCluster, steps: string, o: { docker?: string; ports?: (i: number) => number } = {}): string {
    n++;
    const hosts = c.hosts
      .map((h, i) => `        ${h.name}: { ansible_host: ${h.address}, ansible_port: ${o.ports?.(i) ?? h.port}, ansible_user: ${c.user}, sshd_port: ${h.port} }`)
      .join('\n');
    writeFileSync(join(root, `inventory-${n}.yaml`), `all:\n  children:\n    web:\n      hosts:\n${hosts}\n`);
    const file = join(root, `rb-${n}.yaml`);
    writeFileSync(
      file,
      `runbook: docker-fan-out-${n}
inventory: ./inventory-${n}.yaml
connections:
  web: { ssh: { hosts: web, key_file: ${JSON.stringify(c.keyFile)}, known_hosts: ${JSON.stringify(c.knownHosts)}, connect_timeout: 3s } }
  engine: { docker: ${o.docker ?? `{ socket: ${JSON.stringify(docker.api.socketPath)} }`} }
phases:
  - id: p
    steps:
${steps}
`,
    );
    return file;
  }

  const finished = (events: RunEvent[], prefix: string) =>
    events.filter((e): e is Extract<RunEvent, { type: 'step.finished' }> => e.type === 'step.finished' && e.step.startsWith(prefix));

  it('each host’s step starts a container on that host’s engine; the state is read back per host', async () => {
    const c = sshd.cluster;
    const file = runbook(
      c,
      `      - id: start
        on: web
        concurrency: 2
        docker: { connection: engine, action: run, image: ${BUSYBOX_IMAGE}, name: "fan-\${{ host.name }}", cmd: ${JSON.stringify(LONG_RUNNING)}, detach: true }
        rollback: { docker: { connection: engine, action: kill, container: "fan-\${{ host.name }}" } }
      - id: look
        on: web
        docker: { connection: engine, action: inspect, container: "fan-\${{ host.name }}" }
        outputs: { state: "\${{ result.containers[0].state }}" }
      - id: sessions
        on: web
        irreversible: reads only
        shell: { run: "ss -Htn state established \\"( sport = :\${{ host.vars.sshd_port }} )\\" | wc -l" }
        outputs: { n: "\${{ result.stdout }}" }`,
    );
    // The runner cannot see the engine's socket (an empty folder is mounted over it in its own mount
    // namespace): only the hosts, through sshd, can reach it.
    const hide = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs none ${dirname(docker.api.socketPath)} && exec "$0" "$@"`];
    const r = await runCli(['run', file, '--json', '--yes', '--state-dir', join(root, 'state')], { wrap: hide });
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r.events, 'start[').map((e) => [e.host, e.status]).sort()).toEqual([['host-1', 'succeeded'], ['host-2', 'succeeded']]);
    const look = r.events.find((e) => e.type === 'step.finished' && e.step === 'look') as Extract<RunEvent, { type: 'step.finished' }>;
    expect(look.outputs).toEqual({ state: { 'host-1': 'running', 'host-2': 'running' } });
    expect(await stateOf('fan-host-1')).toBe('running');
    expect(await stateOf('fan-host-2')).toBe('running');
    // The shell steps ran over the connection the docker steps used: each host saw one ssh connection.
    const sessions = r.events.find((e) => e.type === 'step.finished' && e.step === 'sessions') as Extract<RunEvent, { type: 'step.finished' }>;
    expect(sessions.outputs).toEqual({ n: { 'host-1': '1\n', 'host-2': '1\n' } });

    const plan = await runCli(['plan', file, '--preflight', '--json'], { wrap: hide });
    expect(plan.code, plan.stdout).toBe(0);
    const checks = (JSON.parse(plan.stdout) as { preflight: { target: string; ok: boolean; detail: string }[] }).preflight;
    for (const h of c.hosts) {
      expect(checks).toContainEqual({ target: `connection engine (docker) on ${h.name}`, ok: true, detail: expect.stringMatching(/^Podman Engine/) });
      expect(checks).toContainEqual({ target: `step look[${h.name}]: container 'fan-${h.name}'`, ok: true, detail: `fan-${h.name} running` });
    }
  });

  it('a host whose sshd is down fails its instance, naming the host; the other host still runs', async () => {
    const c = sshd.cluster;
    const down = await import('node:net').then(({ createServer }) => new Promise<number>((resolve) => {
      const srv = createServer().listen(0, c.hosts[1].address, () => {
        const port = (srv.address() as { port: number }).port;
        srv.close(() => resolve(port));
      });
    }));
    const file = runbook(
      c,
      `      - id: peek
        on: web
        max_failures: 1
        docker: { connection: engine, action: ps, all: true, filters: { name: [fan-] } }`,
      { ports: (i) => (i === 1 ? down : c.hosts[i].port) },
    );
    const r = await runCli(['run', file, '--json', '--yes', '--state-dir', join(root, 'state')]);
    expect(r.code, r.stderr).toBe(0);
    const byHost = Object.fromEntries(finished(r.events, 'peek[').map((e) => [e.host, e]));
    expect(byHost['host-1']).toMatchObject({ status: 'succeeded' });
    expect(byHost['host-2']).toMatchObject({ status: 'failed', error: `ssh host-2 (${c.hosts[1].address}):${down}: connection refused (is sshd listening on port ${down}?)` });
  });

  it('validation: on: with a connection that is one engine, ssh fields without ssh://, an unknown via — each one line, exit 2', async () => {
    const c = sshd.cluster;
    const cases: [string, string, RegExp][] = [
      [
        `{ host: "${sshUrl(c, 0)}" }`,
        `      - id: s\n        on: web\n        irreversible: test\n        docker: { connection: engine, action: ps }`,
        /:\d+:\d+: step 's': on: web talks to the engine of each of its hosts, but connection 'engine' is one engine \(ssh:\/\/.*\): give the step a docker connection without via or ssh:\/\//,
      ],
      [`{ socket: /x.sock, known_hosts: ./kh }`, `      - id: s\n        docker: { connection: engine, action: ps }`, /:\d+:\d+: connection 'engine': known_hosts applies to an engine reached with host: ssh:\/\/user@host/],
      [`{ via: nowhere }`, `      - id: s\n        docker: { connection: engine, action: ps }`, /:\d+:\d+: connection 'engine': via 'nowhere' is not a connection of this runbook/],
    ];
    for (const [conn, steps, message] of cases) {
      const file = runbook(c, steps, { docker: conn });
      const r = await runCli(['validate', file]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stdout + r.stderr).toMatch(message);
    }
  });

  it('a stopped sshd: a docker step on ssh:// fails naming the host', async () => {
    const c = sshd.cluster;
    await stopProcess(c.hosts[1].process);
    const file = runbook(c, `      - id: s\n        docker: { connection: engine, action: ps }`, {
      docker: `{ host: "${sshUrl(c, 1)}", key_file: ${JSON.stringify(c.keyFile)}, known_hosts: ${JSON.stringify(c.knownHosts)} }`,
    });
    const r = await runCli(['run', file, '--json', '--yes', '--state-dir', join(root, 'state')]);
    expect(r.code).toBe(1);
    const s = r.events.find((e) => e.type === 'step.finished' && e.step === 's') as Extract<RunEvent, { type: 'step.finished' }>;
    expect(s).toMatchObject({
      status: 'failed',
      error: `docker: cannot reach the Docker API at ${sshUrl(c, 1)}: ssh ${c.hosts[1].address}:${c.hosts[1].port}: connection refused (is sshd listening on port ${c.hosts[1].port}?)`,
    });
  });
});

describe('validate and plan of remote engines and tunnels', () => {
  it('never load ssh2 or pg (a CommonJS load would show in NODE_DEBUG=module)', async () => {
    const file = join(root, 'lazy.yaml');
    writeFileSync(
      file,
      `runbook: lazy
connections:
  db-host: { ssh: { host: 127.0.0.2, known_hosts: /dev/null } }
  db: { postgres: { url: "postgres://app@127.0.0.1:5432/x", via: db-host } }
  engine: { docker: { host: "ssh://deploy@127.0.0.2/run/podman/podman.sock", known_hosts: /dev/null } }
phases:
  - id: p
    steps:
      - id: q
        sql: { connection: db, query: "SELECT 1" }
      - id: d
        docker: { connection: engine, action: ps }
`,
    );
    for (const command of ['validate', 'plan']) {
      const r = await runCli([command, file], { env: { NODE_DEBUG: 'module' } });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(r.stderr).toContain('MODULE'); // the debug output is there to be read
      expect(r.stderr).not.toMatch(/node_modules\/(ssh2|pg)\//);
    }
  });
});
