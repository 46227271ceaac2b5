/**
 * A real Docker Engine API for the sandbox and the tests: Podman's Docker-compatible service on a
 * unix socket in a temp dir, with its own storage, state, events and network config in that dir, so
 * nothing on the machine is touched and `stop()` leaves nothing behind.
 *
 * Podman needs a few settings on these machines (see shared/notes/dependencies.md): runc (crun fails
 * with hybrid cgroups), cgroupfs (no systemd), file events, host networking.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { openDockerClient, type DockerClient } from '../../../src/steps/docker/client.js';

const run = promisify(execFile);

export interface DockerApi {
  /** Path of the unix socket. */
  socketPath: string;
  /** `unix://<socketPath>` — what a `docker` connection's `host` (or DOCKER_HOST) takes. */
  host: string;
  /** Remove every container, stop the service, remove the temp dir. */
  stop(): Promise<void>;
  /**
   * Make sure image `name` exists: busybox (static) with its applet links, plus `files`
   * (path in the image → content; content starting with `#!` is made executable).
   * Re-imported only when the files differ from the existing image's.
   */
  ensureImage(name: string, files?: Record<string, string>): Promise<void>;
}

export interface StartDockerOptions {
  /** Told why the API cannot start (podman or busybox missing); default console.warn. */
  onUnavailable?: (reason: string) => void;
  /** Run containers' healthchecks (podman relies on systemd timers, absent here). Default true. */
  healthchecks?: boolean;
  /**
   * Give the socket to this user (its own folder, mode 0700, the socket 0600), as membership of the
   * `docker` group does on a real host: an SSH test user can then reach the engine over SSH, and no
   * other user can.
   */
  socketOwner?: number;
}

const BUSYBOX = '/bin/busybox';
const FILES_LABEL = 'runbook.files-sha256';

/** Why the API cannot start here, or undefined when podman, runc and busybox are present. */
export async function findDockerUnavailableReason(): Promise<string | undefined> {
  for (const [cmd, pkg] of [
    ['podman', 'podman'],
    ['runc', 'runc'],
  ]) {
    try {
      await run(cmd, ['--version']);
    } catch {
      return `${cmd} not found (apt-get install ${pkg}; see .ci/install-podman.sh)`;
    }
  }
  if (!existsSync(BUSYBOX)) return `${BUSYBOX} not found (apt-get install busybox-static)`;
  return undefined;
}

/** Start Podman's Docker API service; undefined (reason given to `onUnavailable`) when it cannot run here. */
export async function startDockerApi(opts: StartDockerOptions = {}): Promise<DockerApi | undefined> {
  const reason = await findDockerUnavailableReason();
  if (reason !== undefined) {
    (opts.onUnavailable ?? ((r) => console.warn(`Docker API unavailable: ${r}`)))(reason);
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'runbook-docker-'));
  const env = await writeConfig(dir);
  const socketDir = opts.socketOwner === undefined ? dir : await mkdtemp(join(tmpdir(), 'runbook-docker-sock-'));
  const socketPath = join(socketDir, 'docker.sock');
  const logFd = openSync(join(dir, 'service.log'), 'a');
  // Own process group so stop() can signal the service and anything it spawned directly.
  const service = spawn('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], {
    env,
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => service.once('exit', () => resolve()));
  const client = openDockerClient({ socket: socketPath }, {});
  const removeSocketDir = () => socketDir !== dir && rmSync(socketDir, { recursive: true, force: true });
  try {
    await waitForPing(client, service, dir);
    if (opts.socketOwner !== undefined) {
      // root (the test) still reaches it: permissions do not bind root.
      await chown(socketPath, opts.socketOwner, opts.socketOwner);
      await chmod(socketPath, 0o600);
      await chown(socketDir, opts.socketOwner, opts.socketOwner);
      await chmod(socketDir, 0o700);
    }
  } catch (err) {
    await client.close();
    await cleanUp(dir, service, exited);
    removeSocketDir();
    throw err;
  }
  const ticker = opts.healthchecks === false ? undefined : startHealthTicker(client);
  // Safety net when the owner exits without stop() (a crashed test run): end what we started.
  const onExit = () => {
    sweep(dir, service.pid);
    removeSocketDir();
  };
  process.once('exit', onExit);
  let stopped: Promise<void> | undefined;
  return {
    socketPath,
    host: `unix://${socketPath}`,
    ensureImage: (name, files = {}) => ensureImage(dir, env, client, name, files),
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit);
        await ticker?.stop();
        await removeAllContainers(client);
        await client.close();
        await cleanUp(dir, service, exited);
        removeSocketDir();
      })();
      return stopped;
    },
  };
}

/** containers.conf, storage.conf and registries.conf, all pointing inside `dir`; returns the env. */
async function writeConfig(dir: string): Promise<NodeJS.ProcessEnv> {
  const conf = join(dir, 'containers.conf');
  const storage = join(dir, 'storage.conf');
  const registries = join(dir, 'registries.conf');
  await writeFile(
    conf,
    `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1000:1000"]
netns = "host"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${dir}/events.log"
tmp_dir = "${dir}/tmp"
volume_path = "${dir}/volumes"
network_cmd_path = ""

[network]
network_backend = "netavark"
network_config_dir = "${dir}/networks"
`,
  );
  // vfs: plain directories, no mounts left to undo; the images are a few MB.
  await writeFile(storage, `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/run"\n`);
  // No registries: every image here is local, nothing is ever pulled.
  await writeFile(registries, `unqualified-search-registries = []\nshort-name-mode = "disabled"\n`);
  return {
    ...process.env,
    CONTAINERS_CONF: conf,
    CONTAINERS_STORAGE_CONF: storage,
    CONTAINERS_REGISTRIES_CONF: registries,
    XDG_RUNTIME_DIR: join(dir, 'xdg'),
  };
}

async function waitForPing(client: DockerClient, service: ChildProcess, dir: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (service.exitCode !== null || service.signalCode !== null) {
      throw new Error(`podman system service exited (${service.exitCode ?? service.signalCode}): ${await tail(dir)}`);
    }
    try {
      const res = await client.request('GET', '/_ping', { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`podman system service did not answer /_ping within 15s: ${await tail(dir)}`);
}

async function tail(dir: string): Promise<string> {
  const log = await readFile(join(dir, 'service.log'), 'utf8').catch(() => '');
  return log.slice(-2000).trim() || '(no output)';
}

async function ensureImage(
  dir: string,
  env: NodeJS.ProcessEnv,
  client: DockerClient,
  name: string,
  files: Record<string, string>,
): Promise<void> {
  const digest = createHash('sha256').update(JSON.stringify(Object.entries(files).sort())).digest('hex');
  const existing = await client.request('GET', `/images/${encodeURIComponent(name)}/json`);
  if (existing.status === 200) {
    const labels = (existing.json as { Config?: { Labels?: Record<string, string> } }).Config?.Labels ?? {};
    if (labels[FILES_LABEL] === digest) return;
  }
  const root = await mkdtemp(join(dir, 'image-'));
  try {
    await buildRootfs(root, files);
    const tar = `${root}.tar`;
    await run('tar', ['-C', root, '-cf', tar, '.']);
    await run(
      'podman',
      ['import', '--change', 'CMD=["/bin/sh"]', '--change', `LABEL=${FILES_LABEL}=${digest}`, tar, name],
      { env },
    );
    await rm(tar, { force: true });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A folder holding /bin/busybox, a link per applet, /tmp, /etc/passwd and the extra files. */
async function buildRootfs(root: string, files: Record<string, string>): Promise<void> {
  const bin = join(root, 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(join(root, 'tmp'), { mode: 0o1777 });
  await chmod(join(root, 'tmp'), 0o1777);
  await mkdir(join(root, 'etc'));
  await copyFile(BUSYBOX, join(bin, 'busybox'));
  await chmod(join(bin, 'busybox'), 0o755);
  const { stdout } = await run(BUSYBOX, ['--list']);
  for (const applet of stdout.split('\n')) {
    if (applet && applet !== 'busybox') await symlink('busybox', join(bin, applet));
  }
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path.replace(/^\/+/, ''));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content, { mode: content.startsWith('#!') ? 0o755 : 0o644 });
  }
}

async function removeAllContainers(client: DockerClient): Promise<void> {
  try {
    const res = await client.request('GET', '/containers/json', { query: { all: 1 }, signal: AbortSignal.timeout(15_000) });
    const list = (res.json ?? []) as Array<{ Id: string }>;
    const remove = (id: string) =>
      client.request('DELETE', `/containers/${id}`, { query: { force: 1, v: 1 }, signal: AbortSignal.timeout(15_000) });
    await Promise.all(list.map((c) => remove(c.Id).catch(() => undefined)));
  } catch {
    // The service is gone; the process sweep in cleanUp still ends what it left.
  }
}

/**
 * Run the healthchecks of running containers at their interval. Podman schedules them with systemd
 * timers, and there is no systemd here; its libpod API runs one on request, as the timer would.
 */
function startHealthTicker(client: DockerClient): { stop(): Promise<void> } {
  const controller = new AbortController();
  const due = new Map<string, { intervalMs: number; last: number }>();
  const loop = (async () => {
    while (!controller.signal.aborted) {
      await tickHealth(client, due, controller.signal).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}

async function tickHealth(client: DockerClient, due: Map<string, { intervalMs: number; last: number }>, signal: AbortSignal) {
  // Only running containers that have a healthcheck: one light request a tick.
  const filters = JSON.stringify({ health: ['starting', 'healthy', 'unhealthy'] });
  const res = await client.request('GET', '/containers/json', { query: { filters }, signal });
  for (const { Id } of (res.json ?? []) as Array<{ Id: string }>) {
    let entry = due.get(Id);
    if (!entry) {
      const info = await client.request('GET', `/containers/${Id}/json`, { signal });
      const interval = (info.json as { Config?: { Healthcheck?: { Interval?: number } } } | undefined)?.Config?.Healthcheck?.Interval;
      entry = { intervalMs: interval ? interval / 1e6 : 30_000, last: 0 };
      due.set(Id, entry);
    }
    if (Date.now() - entry.last < entry.intervalMs) continue;
    entry.last = Date.now();
    // A libpod path (its own version prefix), on the same socket.
    await client.request('GET', `/v4.0.0/libpod/containers/${Id}/healthcheck`, { signal });
  }
}

async function cleanUp(dir: string, service: ChildProcess, exited: Promise<void>): Promise<void> {
  if (service.exitCode === null && service.signalCode === null && service.pid !== undefined) {
    signalGroup(service.pid, 'SIGTERM');
    const killed = setTimeout(() => signalGroup(service.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(killed);
  }
  sweep(dir, service.pid);
}

/**
 * End everything this service left, synchronously (it also runs in an 'exit' handler): containers
 * still running (their processes, by their cgroup; runc's state and cgroups, by `runc delete`),
 * conmon and podman helpers (their command line names our private dir), mounts under it (each
 * container's /dev/shm), then the dir.
 */
function sweep(dir: string, servicePid: number | undefined): void {
  if (servicePid !== undefined) signalGroup(servicePid, 'SIGKILL');
  for (const id of listDir(join(dir, 'storage/vfs-containers'))) {
    if (!/^[0-9a-f]{64}$/.test(id)) continue;
    // cgroupfs manager: v1 (hybrid, as here) or v2 (unified) layout.
    for (const root of ['/sys/fs/cgroup/pids', '/sys/fs/cgroup']) {
      for (const pid of readPids(`${root}/libpod_parent/libpod-${id}/cgroup.procs`)) killPid(pid);
    }
    spawnSync('runc', ['delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
  }
  for (const entry of listDir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (readText(`/proc/${entry}/cmdline`).includes(dir)) killPid(Number(entry));
  }
  const points = readText('/proc/self/mounts')
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((p): p is string => p !== undefined && p.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const point of points) spawnSync('umount', ['-l', point], { stdio: 'ignore', timeout: 10_000 });
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function readPids(path: string): number[] {
  return readText(path).split('\n').filter(Boolean).map(Number);
}
