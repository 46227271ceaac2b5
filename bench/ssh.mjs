// Remote execution over SSH (spec §9), against 5 real sshd instances on 127.0.0.2–127.0.0.6 (root and
// openssh-server needed; otherwise it says so and exits 0). Every figure is printed against its target
// as measured in this run:
//   (a) a command on a reused connection (the transport with its wrapper, and a whole shell step)
//       against a bare ssh2 exec on the same connection — target ≤ 1.5×;
//   (b) `sleep 1` fanned out to 50 inventory entries (10 per sshd) at concurrency 50 — target ≤ 1.5 s
//       wall for the step, and the whole `runbook run` beside it;
//   (c) side by side with Ansible (Debian's, 2.14): `ansible all -m command -a /bin/true` and a 10-task
//       playbook against the same sshds, against the same work through `runbook run` — goal ≥ 10×.
// Usage: npm run build && node bench/ssh.mjs [dist folder]   (or `npm run bench -- ssh`)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const imp = (p) => import(pathToFileURL(join(dist, p)).href);
const { sshdUnavailableReason, startSshd, stopSshd } = await imp('examples/sandbox/services/sshd.js');
const { SshPool } = await imp('src/transport/ssh/pool.js');
const { SshTransport } = await imp('src/transport/ssh/transport.js');
const { readKnownHosts, knownHostsName } = await imp('src/transport/ssh/host-key.js');
const { shellStep } = await imp('src/steps/shell/index.js');
const CLI = join(dist, 'src', 'cli.js');

const reason = sshdUnavailableReason();
if (reason) {
  console.log(`skipped: ${reason}`);
  process.exit(0);
}

let missed = 0;
const verdict = (ok) => (ok ? 'met' : ((missed += 1), 'NOT met'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 1)} ms`);

const work = mkdtempSync(join(tmpdir(), 'runbook-bench-ssh-'));
const cluster = await startSshd(5);
try {
  await commandOnReusedConnection();
  await fanOut50();
  await sideBySideWithAnsible();
} finally {
  await stopSshd(cluster);
  rmSync(work, { recursive: true, force: true });
}
process.exit(missed ? 1 : 0);

function targetOf(h) {
  const known = readKnownHosts(cluster.knownHosts, [knownHostsName(h.address, h.port)]);
  return {
    name: h.name,
    host: h.address,
    port: h.port,
    user: cluster.user,
    privateKey: cluster.privateKey,
    hostKey: { ...known, fingerprints: [], source: 'bench' },
    connectTimeoutMs: 10_000,
    keepaliveMs: 5_000,
    maxSessions: 10,
  };
}

// (a) One command at a time on one reused connection, 2 interleaved passes of RUNS each.
async function commandOnReusedConnection() {
  const RUNS = 100;
  const pool = new SshPool();
  const conn = pool.host(targetOf(cluster.hosts[0]));
  const client = await conn.connect();
  const signal = new AbortController().signal;
  const bare = () =>
    new Promise((done, fail) =>
      client.exec('/bin/true', (err, ch) => {
        if (err) return fail(err);
        ch.on('close', done).resume();
        ch.stderr.resume();
      }),
    );
  let n = 0;
  const transport = () =>
    new SshTransport(conn, { runId: 'bench-ssh', address: `t${n++ % 8}` }).run({ file: '/bin/true', args: [], env: {}, signal, onOutput() {} });
  const ctx = (address) => ({
    signal,
    runId: 'bench-ssh',
    stepId: address,
    baseDir: work,
    env: {},
    output() {},
    progress() {},
    connection: () => Promise.reject(new Error('no connections')),
    remote: { host: { name: 'host-1', address: cluster.hosts[0].address, vars: {} }, transport: new SshTransport(conn, { runId: 'bench-ssh', address }) },
  });
  const step = () => shellStep.execute({ run: 'true' }, ctx(`s${n++ % 8}`));
  const cases = [
    ['bare ssh2 exec /bin/true', bare],
    ['transport (wrapper) /bin/true', transport],
    ["shell step run: 'true' (bash)", step],
  ];
  const sums = cases.map(() => 0);
  for (let pass = 0; pass < 2; pass++) {
    for (const [i, [, fn]] of cases.entries()) {
      for (let w = 0; w < 5; w++) await fn();
      const t0 = performance.now();
      for (let r = 0; r < RUNS; r++) await fn();
      sums[i] += (performance.now() - t0) / RUNS / 2;
    }
  }
  // The wrapper's records of these commands (in the test user's home on the "host").
  await conn.execText('rm -rf ~/.runbook/runs/bench-ssh');
  pool.close();
  console.log(`(a) one command at a time on a reused connection, ${RUNS} runs × 2 passes, mean per command:`);
  for (const [i, [name]] of cases.entries()) console.log(`      ${name.padEnd(34)} ${fmt(sums[i]).padStart(9)}  ${(sums[i] / sums[0]).toFixed(2)}× bare`);
  const ratio = sums[1] / sums[0];
  console.log(`    command on a reused connection: ${ratio.toFixed(2)}× a bare exec (target ≤ 1.5×) — ${verdict(ratio <= 1.5)}`);
}

/** An inventory of `perHost` entries on each sshd (`<prefix>-<host>-<k>`), group `web`. */
function inventory(file, perHost) {
  let text = 'all:\n  children:\n    web:\n      hosts:\n';
  for (const h of cluster.hosts) {
    for (let k = 1; k <= perHost; k++) {
      text += `        ${h.name}-${k}: { ansible_host: ${h.address}, ansible_port: ${h.port}, ansible_user: ${cluster.user} }\n`;
    }
  }
  writeFileSync(file, text);
  return file;
}

function runbookFile(name, steps) {
  const file = join(work, `${name}.yaml`);
  writeFileSync(
    file,
    `runbook: ${name}\nconnections:\n  web: { ssh: { hosts: web, key_file: ${JSON.stringify(cluster.keyFile)}, known_hosts: ${JSON.stringify(cluster.knownHosts)} } }\nphases:\n  - id: p\n    steps:\n${steps}`,
  );
  return file;
}

/** `runbook run FILE --json`: wall of the process, and its events. */
function runCli(file, inv) {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const spawnedAt = Date.now();
    const p = spawn(process.execPath, [CLI, 'run', file, '--json', '--yes', '--inventory', inv, '--state-dir', join(work, 'state')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', fail);
    p.on('close', (code) => {
      const wall = performance.now() - t0;
      if (code !== 0) return fail(new Error(`runbook run ${file} exited ${code}: ${err.slice(-2000)}`));
      done({ wall, spawnedAt, events: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)) });
    });
  });
}

/** From the step's first instance start to its aggregate step.finished. */
function stepWall(events, step) {
  const started = events.filter((e) => e.type === 'step.started' && (e.step === step || e.step.startsWith(`${step}[`)));
  const finished = events.find((e) => e.type === 'step.finished' && e.step === step);
  return Date.parse(finished.ts) - Math.min(...started.map((e) => Date.parse(e.ts)));
}

// (b) 50 host entries (10 per sshd: one connection each, 10 sessions), concurrency 50.
async function fanOut50() {
  const inv = inventory(join(work, 'inventory-50.yaml'), 10);
  const file = runbookFile('fan-out-50', `      - id: sleep\n        on: web\n        concurrency: 50\n        irreversible: sleeps\n        shell: { command: [sleep, "1"] }\n`);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await runCli(file, inv));
  const step = median(runs.map((r) => stepWall(r.events, 'sleep')));
  const whole = median(runs.map((r) => r.wall));
  const hosts = runs[0].events.filter((e) => e.type === 'step.finished' && e.step.startsWith('sleep[') && e.status === 'succeeded').length;
  console.log(`(b) sleep 1 on 50 host entries (5 sshds × 10), concurrency 50, median of 3 runs: ${hosts} hosts succeeded`);
  console.log(`      the step (connect 5 hosts, 50 commands): ${fmt(step)}; the whole \`runbook run\` process: ${fmt(whole)}`);
  console.log(`    fan-out wall: ${fmt(step)} (target ≤ 1.5 s) — ${verdict(step <= 1500)}`);
}

/** Where a `runbook run` spent its time: before run.started, until the first host command, the commands, after. */
function phases({ wall, spawnedAt, events }) {
  const at = (e) => Date.parse(e.ts) - spawnedAt;
  const started = at(events.find((e) => e.type === 'run.started'));
  const hostStarts = events.filter((e) => e.type === 'step.started' && e.host);
  const firstCommand = Math.min(...hostStarts.map(at));
  const lastFinish = Math.max(...events.filter((e) => e.type === 'step.finished').map(at));
  return { startup: started, connect: firstCommand - started, commands: lastFinish - firstCommand, rest: wall - lastFinish };
}

// (c) The same work in Ansible and in runbook, against the same 5 sshds (one entry each), forks 5.
async function sideBySideWithAnsible() {
  const ansible = spawnSync('ansible', ['--version'], { encoding: 'utf8' });
  if (ansible.status !== 0) {
    console.log('(c) skipped: ansible is not installed (apt-get install ansible: Debian 12 has 2.14)');
    return;
  }
  const version = /ansible \[core ([^\]]+)\]/.exec(ansible.stdout)?.[1] ?? ansible.stdout.split('\n')[0];
  const inv = inventory(join(work, 'inventory-5.yaml'), 1);
  const env = {
    ...process.env,
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_SSH_ARGS: `-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=${cluster.knownHosts} -o IdentitiesOnly=yes`,
    ANSIBLE_PRIVATE_KEY_FILE: cluster.keyFile,
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_FORKS: '5',
    ANSIBLE_LOCAL_TEMP: join(work, 'ansible-local'),
    ANSIBLE_CONTROL_PATH_DIR: join(work, 'ansible-cp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_STDOUT_CALLBACK: 'minimal',
  };
  const timeAnsible = (args) => {
    const t0 = performance.now();
    const r = spawnSync(args[0], args.slice(1), { env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${(r.stdout + r.stderr).slice(-2000)}`);
    return ms;
  };
  const playbook = join(work, 'ten.yml');
  writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  tasks:\n${Array.from({ length: 10 }, (_, i) => `    - name: t${i}\n      command: /bin/true\n`).join('')}`);
  const adhocRb = runbookFile('adhoc-true', `      - id: t0\n        on: web\n        concurrency: 5\n        irreversible: runs true\n        shell: { command: [/bin/true] }\n`);
  const tenRb = runbookFile(
    'ten-tasks',
    Array.from({ length: 10 }, (_, i) => `      - id: t${i}\n        on: web\n        concurrency: 5\n        irreversible: runs true\n        shell: { command: [/bin/true] }\n`).join(''),
  );
  const rows = [
    ['ansible all -m command -a /bin/true', () => timeAnsible(['ansible', '-i', inv, 'all', '-m', 'command', '-a', '/bin/true']), () => runCli(adhocRb, inv)],
    ['10-task playbook (command: /bin/true)', () => timeAnsible(['ansible-playbook', '-i', inv, playbook]), () => runCli(tenRb, inv)],
  ];
  console.log(`(c) against Ansible ${version} (ssh with ControlPersist, forks 5, gather_facts off), 5 hosts, median of 5 runs after a warm-up each:`);
  for (const [name, a, r] of rows) {
    a();
    await r();
    const as = [];
    const rs = [];
    // Interleaved, so a change of load on a shared machine hits both alike.
    for (let i = 0; i < 5; i++) {
      as.push(a());
      rs.push(await r());
    }
    const ratio = median(as) / median(rs.map((x) => x.wall));
    console.log(`      ${name.padEnd(40)} ansible ${fmt(median(as)).padStart(8)}  runbook ${fmt(median(rs.map((x) => x.wall))).padStart(8)}  ${ratio.toFixed(1)}× faster (goal ≥ 10×) — ${verdict(ratio >= 10)}`);
    const parts = rs.map(phases);
    const part = (k) => fmt(median(parts.map((p) => p[k])));
    console.log(`        runbook's time: start-up to run.started ${part('startup')}, connecting the hosts ${part('connect')}, the commands ${part('commands')}, the rest ${part('rest')}`);
  }
}
