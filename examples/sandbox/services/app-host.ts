/**
 * A fake app host: the trading service deployed in a host's folder the way a release-based deploy
 * lays it out, run by the host's own service manager as the host's user (the sshd test user), and
 * listening on the host's own loopback address — so "restart the service on app-2" over SSH does on
 * this machine what it does on a real one, and a test can check the outcome from outside (the
 * `current` symlink, the running pid, the health endpoint):
 *
 *   <dir>/releases/<version>/{app.cjs,VERSION[,REQUIRES]}   the deployed releases
 *   <dir>/current -> releases/<version>                     the release that runs
 *   <dir>/config/app.env                                     ADDRESS, PORT, HOST_NAME, … (per host)
 *   <dir>/bin/trading-service start|stop|restart|status     the control script
 *   <dir>/sbin/supervise.cjs                                 the service manager (systemd's part)
 *   <dir>/run/{app.pid,down}  <dir>/log/app.log
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port.js';
import { basename, join } from 'node:path';
import { APP_JS, CONTROL_SH, SUPERVISE_JS } from './app-host-files.js';

export interface ReleaseSpec {
  /** Keys of config/app.env this release refuses to start without. */
  requires?: string[];
}

export interface AppHostSpec {
  /** The inventory name (app-1). */
  name: string;
  /** The host's folder: the app's root there (`app_dir`). */
  dir: string;
  /** The host's address: the service listens there. */
  address: string;
  uid: number;
  gid: number;
  releases: Record<string, ReleaseSpec>;
  /** The release `current` points at. */
  current: string;
  /** More lines of config/app.env. */
  config?: Record<string, string>;
}

export interface Health {
  status: number;
  body: { status?: string; version?: string; host?: string; components?: Record<string, { status: string }> };
}

export interface AppHost {
  name: string;
  dir: string;
  address: string;
  port: number;
  /** The service's base URL on its host (`app_url` in the inventory). */
  url: string;
  /** The release `current` points at. */
  release(): string;
  /** The pid of the running service, if one runs. */
  appPid(): number | undefined;
  /** GET /actuator/health, or undefined when nothing answers. */
  health(): Promise<Health | undefined>;
  waitHealthy(version?: string, ms?: number): Promise<Health>;
  /** The service stops as after a power loss: down, and not started again by its manager. */
  stopService(): Promise<void>;
  /** Points `current` at `release` and restarts the service there, as a deploy would; waits until it is UP. */
  restartOn(release: string): Promise<Health>;
  /** Sets (or removes, with undefined) a key of config/app.env; takes effect at the next start. */
  setConfig(key: string, value: string | undefined): void;
  log(): string;
  /** Stops the service manager and the service (by process group). */
  stop(): Promise<void>;
}

export async function startAppHost(spec: AppHostSpec): Promise<AppHost> {
  const port = await freePort(spec.address);
  const d = (...p: string[]) => join(spec.dir, ...p);
  for (const sub of ['releases', 'config', 'bin', 'sbin', 'run', 'log']) mkdirSync(d(sub), { recursive: true });
  for (const [version, r] of Object.entries(spec.releases)) {
    mkdirSync(d('releases', version), { recursive: true });
    writeFileSync(d('releases', version, 'app.cjs'), APP_JS);
    writeFileSync(d('releases', version, 'VERSION'), `${version}\n`);
    if (r.requires?.length) writeFileSync(d('releases', version, 'REQUIRES'), `${r.requires.join('\n')}\n`);
  }
  symlinkSync(`releases/${spec.current}`, d('current'));
  const config: Record<string, string> = { HOST_NAME: spec.name, ADDRESS: spec.address, PORT: String(port), ...spec.config };
  const writeConfig = () => writeFileSync(d('config', 'app.env'), Object.entries(config).map(([k, v]) => `${k}=${v}\n`).join(''));
  writeConfig();
  writeFileSync(d('bin', 'trading-service'), CONTROL_SH);
  chmodSync(d('bin', 'trading-service'), 0o755);
  writeFileSync(d('sbin', 'supervise.cjs'), SUPERVISE_JS);
  chownTree(spec.dir, spec.uid, spec.gid);

  const manager: ChildProcess = spawn(process.execPath, [d('sbin', 'supervise.cjs'), spec.dir], {
    uid: spec.uid,
    gid: spec.gid,
    cwd: spec.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: spec.dir },
    // Its own process group: the service it starts is in it, and stop() ends both.
    detached: true,
    stdio: 'ignore',
  });
  const url = `http://${spec.address}:${port}`;
  const health = async (): Promise<Health | undefined> => {
    try {
      const res = await fetch(`${url}/actuator/health`, { signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: (await res.json()) as Health['body'] };
    } catch {
      return undefined;
    }
  };
  const appPid = () => {
    const pid = Number(readText(d('run', 'app.pid')).trim());
    return pid > 0 && alive(pid) ? pid : undefined;
  };
  const host: AppHost = {
    name: spec.name,
    dir: spec.dir,
    address: spec.address,
    port,
    url,
    release: () => basename(readlinkSync(d('current'))),
    appPid,
    health,
    async waitHealthy(version, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const h = await health();
        if (h?.body.status === 'UP' && (version === undefined || h.body.version === version)) return h;
        if (Date.now() > deadline) throw new Error(`${spec.name}: not healthy${version ? ` on ${version}` : ''} after ${ms} ms (last: ${JSON.stringify(h?.body)}; log: ${host.log().trim().split('\n').slice(-3).join(' | ')})`);
        await sleep(50);
      }
    },
    async stopService() {
      writeFileSync(d('run', 'down'), '');
      chownSync(d('run', 'down'), spec.uid, spec.gid);
      const pid = appPid();
      if (pid) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && (await health()) !== undefined; i++) await sleep(50);
    },
    async restartOn(release) {
      rmSync(d('run', 'down'), { force: true });
      rmSync(d('current.next'), { force: true });
      symlinkSync(`releases/${release}`, d('current.next'));
      lchownSync(d('current.next'), spec.uid, spec.gid);
      renameSync(d('current.next'), d('current'));
      const pid = appPid();
      if (pid) process.kill(pid, 'SIGTERM');
      return host.waitHealthy(release);
    },
    setConfig(key, value) {
      if (value === undefined) delete config[key];
      else config[key] = value;
      writeConfig();
    },
    log: () => readText(d('log', 'app.log')),
    async stop() {
      await stopGroup(manager);
    },
  };
  try {
    await host.waitHealthy(spec.current);
  } catch (e) {
    await host.stop();
    throw e;
  }
  return host;
}

async function stopGroup(p: ChildProcess): Promise<void> {
  if (p.pid === undefined) return;
  const exited = p.exitCode !== null || p.signalCode !== null;
  const done = exited ? Promise.resolve() : new Promise((r) => p.once('exit', r));
  try {
    process.kill(-p.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([done, sleep(3000)]);
  try {
    // Whatever is left of the group (a service that ignored SIGTERM).
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    // Gone.
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) chownTree(p, uid, gid);
    else chownSync(p, uid, gid);
  }
  // Symlinks too (lchown): the host's user owns all of its deploy.
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isSymbolicLink()) lchownSync(join(dir, e.name), uid, gid);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
