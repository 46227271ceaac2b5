/**
 * Real OpenSSH servers, for tests, benchmarks and the sandbox's fake hosts: N `sshd` instances on
 * 127.0.0.2, 127.0.0.3, …, each with its own throwaway ed25519 host key, one test user (`rbssh`,
 * shell /bin/sh) logging in with a throwaway client key, and a `known_hosts` file listing every
 * instance. The hosts share this machine's filesystem: each gets its own folder (`hosts[i].dir`,
 * owned by the test user). Needs root (to create the user and run sshd) and openssh-server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { freePort } from './free-port.js';
import { join } from 'node:path';

export const SSH_TEST_USER = 'rbssh';
const SSHD = '/usr/sbin/sshd';

export interface SshdHost {
  name: string;
  address: string;
  port: number;
  /** `ssh-ed25519 AAAA…` of this instance's host key. */
  publicKey: string;
  /** A folder of its own, writable by the test user. */
  dir: string;
  process: ChildProcess;
}

export interface SshdCluster {
  hosts: SshdHost[];
  user: string;
  uid: number;
  /** The client's private key (OpenSSH PEM) and its file. */
  privateKey: string;
  keyFile: string;
  knownHosts: string;
  root: string;
  /** Stop instance i (SIGTERM, by pid) and start it again with a new host key (a "changed key"). */
  rotateHostKey(i: number): Promise<string>;
}

/** Why sshd cannot be started here, or undefined. */
export function sshdUnavailableReason(): string | undefined {
  if (!existsSync(SSHD)) return 'openssh-server is not installed (/usr/sbin/sshd missing)';
  if (process.getuid?.() !== 0) return 'sshd tests need root (to create the test user and run sshd)';
  return undefined;
}

export function ensureTestUser(): number {
  try {
    return Number(execFileSync('id', ['-u', SSH_TEST_USER], { encoding: 'utf8' }).trim());
  } catch {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', SSH_TEST_USER], { stdio: 'ignore' });
    // useradd leaves the account locked ('!'), and sshd refuses locked accounts even for keys.
    execFileSync('usermod', ['-p', '*', SSH_TEST_USER], { stdio: 'ignore' });
    return Number(execFileSync('id', ['-u', SSH_TEST_USER], { encoding: 'utf8' }).trim());
  }
}

export async function startSshd(count: number, opts: { maxSessions?: number } = {}): Promise<SshdCluster> {
  const uid = ensureTestUser();
  mkdirSync('/run/sshd', { recursive: true });
  const root = mkdtempSync(join(tmpdir(), 'rb-sshd-'));
  chmodSync(root, 0o755);
  const keyFile = join(root, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'runbook-test', '-f', keyFile]);
  const authorized = join(root, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${keyFile}.pub`));
  chmodSync(authorized, 0o644);
  const hosts: SshdHost[] = [];
  for (let i = 0; i < count; i++) {
    const address = `127.0.0.${i + 2}`;
    const dir = join(root, `host-${i + 1}`);
    mkdirSync(dir);
    chownSync(dir, uid, uid);
    hosts.push(await startInstance(root, i, address, authorized, dir, opts.maxSessions ?? 100));
  }
  const knownHosts = join(root, 'known_hosts');
  const writeKnownHosts = () => writeFileSync(knownHosts, hosts.map((h) => `[${h.address}]:${h.port} ${h.publicKey}\n`).join(''));
  writeKnownHosts();
  const cluster: SshdCluster = {
    hosts,
    user: SSH_TEST_USER,
    uid,
    privateKey: readFileSync(keyFile, 'utf8'),
    keyFile,
    knownHosts,
    root,
    async rotateHostKey(i) {
      const h = hosts[i];
      await stopProcess(h.process);
      rmSync(join(root, `hostkey-${i}`), { force: true });
      rmSync(join(root, `hostkey-${i}.pub`), { force: true });
      const next = await startInstance(root, i, h.address, authorized, h.dir, opts.maxSessions ?? 100, h.port);
      hosts[i] = next;
      return next.publicKey;
    },
  };
  return cluster;
}

async function startInstance(root: string, i: number, address: string, authorized: string, dir: string, maxSessions: number, port?: number): Promise<SshdHost> {
  const hostKey = join(root, `hostkey-${i}`);
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', '', '-f', hostKey]);
  const publicKey = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  for (let tries = 0; ; tries++) {
    const p = port ?? (await freePort(address));
    const conf = join(root, `sshd-${i}.conf`);
    writeFileSync(
      conf,
      [
        `ListenAddress ${address}:${p}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorized}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PidFile none',
        'UseDNS no',
        `MaxSessions ${maxSessions}`,
        'MaxStartups 200:30:400',
        'AllowTcpForwarding yes',
        'AllowStreamLocalForwarding yes',
        'LogLevel ERROR',
        `AllowUsers ${SSH_TEST_USER}`,
        '',
      ].join('\n'),
    );
    const proc = spawn(SSHD, ['-D', '-e', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    if (await waitForBanner(address, p, proc)) return { name: `host-${i + 1}`, address, port: p, publicKey, dir, process: proc };
    await stopProcess(proc);
    if (tries >= 3 || port !== undefined) throw new Error(`sshd on ${address}:${p} did not start: ${stderr.trim()}`);
  }
}

async function waitForBanner(address: string, port: number, proc: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: address, port });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

export async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const done = new Promise((r) => proc.once('exit', r));
  try {
    process.kill(proc.pid, 'SIGCONT');
    process.kill(proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  if (proc.exitCode === null && proc.signalCode === null) {
    process.kill(proc.pid, 'SIGKILL');
    await done;
  }
}

export async function stopSshd(cluster: SshdCluster): Promise<void> {
  // The sessions (and what they run) are the listeners' descendants: found by pid before the
  // listeners go, so a cluster stops only its own processes (other clusters may share the user).
  const sessions = descendantsOf(cluster.hosts.map((h) => h.process.pid).filter((p): p is number => p !== undefined));
  await Promise.all(cluster.hosts.map((h) => stopProcess(h.process)));
  for (const pid of sessions) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(cluster.root, { recursive: true, force: true });
}

/** Every descendant of `roots` (by the parent pids in /proc), deepest last. */
export function descendantsOf(roots: number[]): number[] {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    kids.set(ppid, [...(kids.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const todo = [...roots];
  while (todo.length) for (const c of kids.get(todo.shift()!) ?? []) out.push(c), todo.push(c);
  return out;
}

/** Pids of the test user's processes whose command line contains `marker`. */
export function userProcesses(marker: string): { pid: number; args: string }[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-u', SSH_TEST_USER, '-o', 'pid=,args='], { encoding: 'utf8' });
  } catch {
    // ps exits 1 when the user has no process.
  }
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l.includes(marker))
    .map((l) => ({ pid: Number(l.split(/\s+/, 1)[0]), args: l.slice(l.indexOf(' ') + 1) }));
}

/**
 * A TCP proxy in its own process in front of a host (so a test can SIGSTOP it: a partition that
 * leaves sshd and its session process alone). Returns its port and the child, stopped by pid.
 */
export async function startProxy(address: string, targetPort: number): Promise<{ port: number; process: ChildProcess }> {
  const code = `
    const net = require('node:net');
    const srv = net.createServer((c) => {
      const u = net.connect(${targetPort}, ${JSON.stringify(address)});
      c.pipe(u); u.pipe(c);
      const end = () => { c.destroy(); u.destroy(); };
      c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
    });
    srv.listen(0, ${JSON.stringify(address)}, () => process.stdout.write(srv.address().port + '\\n'));`;
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
    proc.once('exit', () => reject(new Error('proxy exited')));
  });
  return { port, process: proc };
}
