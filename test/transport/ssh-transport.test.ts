// The remote transport against real sshd instances: output and exit codes, values that look like
// shell syntax, timeouts that kill the whole remote tree (a TERM-ignoring child, a setsid
// grandchild), a partition (SIGSTOPped proxy), and one clear error per connection problem.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SshPool } from '../../src/transport/ssh/pool.js';
import { SshTransport } from '../../src/transport/ssh/transport.js';
import { readKnownHosts, knownHostsName, fingerprint } from '../../src/transport/ssh/host-key.js';
import type { SshTarget } from '../../src/transport/ssh/connect.js';
import type { ProcessRequest } from '../../src/transport/types.js';
import { startProxy, stopProcess, useSshd, userProcesses, type SshdCluster } from '../helpers/sshd.js';

const sshd = await useSshd(3);

function target(c: SshdCluster, i: number, over: Partial<SshTarget> = {}): SshTarget {
  const h = c.hosts[i];
  const port = over.port ?? h.port;
  return {
    name: h.name,
    host: h.address,
    port,
    user: c.user,
    privateKey: c.privateKey,
    hostKey: { ...readKnownHosts(c.knownHosts, [knownHostsName(h.address, h.port)]), fingerprints: [], source: `known_hosts ${c.knownHosts}` },
    connectTimeoutMs: 5000,
    keepaliveMs: 1000,
    maxSessions: 10,
    ...over,
  };
}

const req = (script: string, over: Partial<ProcessRequest> = {}): ProcessRequest & { out: string[] } => {
  const out: string[] = [];
  return { file: 'bash', args: ['--norc', '-eo', 'pipefail', '-c', script], env: {}, signal: new AbortController().signal, onOutput: (s, t) => out.push(`${s}:${t}`), out, ...over };
};

describe.skipIf(sshd.skip)('ssh transport', () => {
  const pool = new SshPool();
  afterAll(() => pool.close(2000));

  it('runs a command: stdout, stderr, exit code, env values passed as data', async () => {
    const c = sshd.cluster;
    const t = new SshTransport(pool.host(target(c, 0)), { runId: 'r1', address: 'a[host-1]' });
    const hostile = `it's "$(touch ${c.hosts[0].dir}/pwned)" \`id\` ; rm -rf / #\n$HOME`;
    const r = req('printf "%s" "$V"; echo err >&2; exit 3', { env: { V: hostile } });
    const o = await t.run(r);
    expect(o).toMatchObject({ exitCode: 3, stdout: hostile, stderr: 'err\n', cancelled: false });
    expect(() => readFileSync(`${c.hosts[0].dir}/pwned`)).toThrow();
    expect(await t.recorded()).toEqual({ state: 'finished', exitCode: 3, killed: false });
  });

  it('reuses one connection for many commands, queueing beyond the session limit', async () => {
    const c = sshd.cluster;
    const host = pool.host(target(c, 1, { maxSessions: 4 }));
    const runs = await Promise.all(
      Array.from({ length: 12 }, (_, i) => new SshTransport(host, { runId: 'r1', address: `q[${i}]` }).run(req(`echo ${i}`))),
    );
    expect(runs.map((r) => r.stdout)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
  });

  it('a timeout kills the remote tree: a TERM-ignoring child and a setsid grandchild included', async () => {
    const c = sshd.cluster;
    const t = new SshTransport(pool.host(target(c, 0)), { runId: 'r1', address: 'sleep[host-1]' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('timed out')), 2000);
    const started = Date.now();
    const o = await t.run(req(`(trap '' TERM; exec sleep 300) & setsid sh -c 'sleep 301' & sleep 302`, { signal: ac.signal }));
    expect(o.cancelled).toBe(true);
    expect(o.forceKilled).toBe(true);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(userProcesses('sleep 30')).toEqual([]);
    expect(await t.recorded()).toMatchObject({ state: 'finished', killed: true });
  });

  it('nothing is left running after a command ends (a background process is killed with it)', async () => {
    const c = sshd.cluster;
    const t = new SshTransport(pool.host(target(c, 0)), { runId: 'r1', address: 'bg[host-1]' });
    const o = await t.run(req(`setsid sleep 303 & echo started`));
    expect(o).toMatchObject({ exitCode: 0, stdout: 'started\n' });
    expect(userProcesses('sleep 303')).toEqual([]);
  });

  it('a partition fails the command with "connection lost" within the keepalive bound, and the tree is killed once the host answers', async () => {
    const c = sshd.cluster;
    const proxy = await startProxy(c.hosts[2].address, c.hosts[2].port);
    try {
      const local = new SshPool();
      const cut = local.host(target(c, 2, { port: proxy.port, hostKey: target(c, 2).hostKey }));
      const other = local.host(target(c, 1));
      const t = new SshTransport(cut, { runId: 'r2', address: 'p[host-3]' });
      const healthy = new SshTransport(other, { runId: 'r2', address: 'p[host-2]' });
      const marker = 'sleep 304';
      const running = t.run(req(`sleep 304`));
      const ok = healthy.run(req('sleep 1; echo fine'));
      // Let the command start on the host, then freeze the network path to it.
      await waitFor(() => userProcesses(marker).length > 0, 5000);
      process.kill(proxy.process.pid!, 'SIGSTOP');
      const t0 = Date.now();
      await expect(running).rejects.toThrow(/connection lost to host-3/);
      expect(Date.now() - t0).toBeLessThan(6000);
      expect((await ok).stdout).toBe('fine\n');
      expect(userProcesses(marker).length).toBeGreaterThan(0);
      process.kill(proxy.process.pid!, 'SIGCONT');
      await cut.settle(15_000);
      expect([...cut.killed.values()]).toEqual(['gone']);
      expect(userProcesses(marker)).toEqual([]);
      await local.close(1000);
    } finally {
      await stopProcess(proxy.process);
    }
  }, 30_000);

  it('via: a jump host carries the connection to the next host', async () => {
    const c = sshd.cluster;
    const p = new SshPool();
    const jump = target(c, 0);
    const t = new SshTransport(p.host({ ...target(c, 1), via: jump }), { runId: 'r4', address: 'via[host-2]' });
    const o = await t.run(req('echo "$SSH_CONNECTION"'));
    // host-2's sshd sees a connection to its own address and port, opened from the jump host.
    expect(o.exitCode).toBe(0);
    expect(o.stdout.trim().split(' ').slice(2)).toEqual([c.hosts[1].address, String(c.hosts[1].port)]);
    // It did go through the jump host: with the jump's key unknown, reaching host-2 fails on host-1.
    const p2 = new SshPool();
    const badJump = { ...jump, hostKey: { keys: [], fingerprints: [], revoked: [], source: 'known_hosts /dev/null' } };
    await expect(new SshTransport(p2.host({ ...target(c, 1), via: badJump }), { runId: 'r4', address: 'via2' }).run(req('true'))).rejects.toThrow(/host key of host-1 is unknown/);
    await p2.close(100);
    await p.close(100);
  });

  it('two connections that trust different keys for one address never share a pooled connection', async () => {
    const c = sshd.cluster;
    const pool = new SshPool();
    try {
      const good = target(c, 2);
      const wrong = target(c, 2, { hostKey: { keys: [], fingerprints: ['SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], revoked: [], source: 'host_key' } });
      const ok = await new SshTransport(pool.host(good), { runId: 'r4', address: 'a' }).run(req('echo ok'));
      expect(ok.stdout).toBe('ok\n');
      expect(pool.host(wrong)).not.toBe(pool.host(good));
      await expect(new SshTransport(pool.host(wrong), { runId: 'r4', address: 'b' }).run(req('echo no'))).rejects.toThrow(/host key of host-3 has CHANGED/);
    } finally {
      await pool.close(0);
    }
  });

  it('one clear error per connection problem, naming the host', async () => {
    const c = sshd.cluster;
    // A pool per attempt: a pool keeps the first settings it was given for a user@host:port.
    const pools: SshPool[] = [];
    const run = (t: SshTarget) => {
      const p = new SshPool();
      pools.push(p);
      return new SshTransport(p.host(t), { runId: 'r3', address: 'x' }).run(req('true'));
    };
    const good = target(c, 0);
    // Unknown host: nothing in known_hosts for it.
    await expect(run({ ...good, hostKey: { keys: [], fingerprints: [], revoked: [], source: 'known_hosts /dev/null' } })).rejects.toThrow(
      new RegExp(`host key of host-1 is unknown \\(not in known_hosts /dev/null\\): the server presented ${escape(fingerprint(keyBlob(c.hosts[0].publicKey)))}`),
    );
    // Changed: another host's key expected.
    const wrong = target(c, 1).hostKey;
    await expect(run({ ...good, hostKey: wrong })).rejects.toThrow(
      new RegExp(`host key of host-1 has CHANGED: expected ${escape(fingerprint(keyBlob(c.hosts[1].publicKey)))} .* presented ${escape(fingerprint(keyBlob(c.hosts[0].publicKey)))}`),
    );
    // A host_key fingerprint that matches works.
    await expect(run({ ...good, name: 'fp', hostKey: { keys: [], revoked: [], fingerprints: [fingerprint(keyBlob(c.hosts[0].publicKey))], source: 'host_key' } })).resolves.toMatchObject({ exitCode: 0 });
    await expect(run({ ...good, name: 'refused', port: 1 })).rejects.toThrow(/ssh refused \(127\.0\.0\.2\):1: connection refused/);
    await expect(run({ ...good, name: 'wrong-user', user: 'nobody' })).rejects.toThrow(/login as 'nobody' refused \(publickey\): wrong user or key/);
    const other = join(c.root, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    await expect(run({ ...good, name: 'wrong-key', privateKey: readFileSync(other, 'utf8') })).rejects.toThrow(/ssh wrong-key \(127\.0\.0\.2\):\d+: login as 'rbssh' refused \(publickey\): wrong user or key/);
    await Promise.all(pools.map((p) => p.close(100)));
  });
});

const keyBlob = (pub: string) => Buffer.from(pub.split(' ')[1], 'base64');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 50));
  }
}
