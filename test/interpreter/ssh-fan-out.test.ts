// Fan-out over real sshd hosts (spec §9), through the CLI: every host runs once (marker files read
// back through the filesystem), exit codes and output per host, concurrency and rolling batches
// proved by timestamps, max_failures 0 / 1 / 40 %, rollback on exactly the hosts that started in
// reverse order, a remote timeout that leaves no process, kill -9 of the runner and resume that
// never runs a host twice, injection through host vars and params, and clear errors.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startProxy, stopProcess, useSshd, userProcesses, type SshdCluster } from '../helpers/sshd.js';
import type { RunEvent } from '../../src/interpreter/events.js';

const sshd = await useSshd(5);
const root = mkdtempSync(join(tmpdir(), 'rb-fanout-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A runbook and an inventory of the cluster's hosts in a folder of their own. */
function setup(c: SshdCluster, steps: string, o: { vars?: (i: number) => Record<string, unknown>; extra?: string; params?: string; ports?: (i: number) => number; knownHosts?: string; keyFile?: boolean } = {}) {
  const dir = join(root, `t${++n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  steps = steps.replace(/MARK/g, `m${n}`);
  const hosts = c.hosts
    .map((h, i) => {
      const vars = { ansible_host: h.address, ansible_port: o.ports?.(i) ?? h.port, ansible_user: c.user, dir: h.dir, ...(o.vars?.(i) ?? {}) };
      return `        ${h.name}:\n${Object.entries(vars).map(([k, v]) => `          ${k}: ${JSON.stringify(v)}`).join('\n')}`;
    })
    .join('\n');
  writeFileSync(join(dir, 'inventory.yaml'), `all:\n  children:\n    web:\n      hosts:\n${hosts}\n`);
  for (const h of c.hosts) rmSync(join(h.dir, `m${n}`), { force: true });
  writeFileSync(
    join(dir, 'rb.yaml'),
    `runbook: fan-out-${n}
inventory: ./inventory.yaml
${o.params ?? ''}
connections:
  web: { ssh: { hosts: web, ${o.keyFile === false ? '' : `key_file: ${JSON.stringify(c.keyFile)}, `}known_hosts: ${JSON.stringify(o.knownHosts ?? c.knownHosts)}, keepalive: 1s, connect_timeout: 5s } }
${o.extra ?? ''}
phases:
  - id: p
    steps:
${steps}
`,
  );
  return { dir, file: join(dir, 'rb.yaml'), marker: `m${n}`, state: join(dir, 'state') };
}

const finished = (events: RunEvent[], step: string) =>
  events.filter((e): e is Extract<RunEvent, { type: 'step.finished' }> => e.type === 'step.finished' && e.step.startsWith(`${step}[`));
const lines = (c: SshdCluster, i: number, marker: string) => {
  const f = join(c.hosts[i].dir, marker);
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
};

describe.skipIf(sshd.skip)('on: fan-out over ssh hosts', () => {
  it('runs on every host exactly once, with exit code, stdout and stderr per host', async () => {
    const c = sshd.cluster;
    const t = setup(
      c,
      `      - id: mark
        on: web
        concurrency: 5
        max_failures: 1
        irreversible: test marker
        shell:
          run: |
            echo "$RUNBOOK_RUN_ID" >> ${'${{ host.vars.dir }}'}/MARK
            echo "out ${'${{ host.name }}'}"
            echo "err ${'${{ host.address }}'}" >&2
            [ ${'${{ host.name }}'} != host-3 ] || exit 7
        outputs:
          said: "\${{ result.stdout }}"`,
    );
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code, r.stderr).toBe(0);
    for (let i = 0; i < 5; i++) expect(lines(c, i, t.marker)).toHaveLength(1);
    const byHost = Object.fromEntries(finished(r.events, 'mark').map((e) => [e.host, e]));
    expect(Object.keys(byHost).sort()).toEqual(['host-1', 'host-2', 'host-3', 'host-4', 'host-5']);
    expect(byHost['host-3']).toMatchObject({ status: 'failed', result: { exit_code: 7 } });
    expect(byHost['host-1']).toMatchObject({ status: 'succeeded', result: { exit_code: 0, stdout: 'out host-1\n', stderr: `err ${c.hosts[0].address}\n` } });
    const agg = r.events.find((e) => e.type === 'step.finished' && e.step === 'mark') as Extract<RunEvent, { type: 'step.finished' }>;
    expect(agg.status).toBe('succeeded');
    expect((agg.outputs.said as Record<string, string>)['host-5']).toBe('out host-5\n');
    expect(agg).toMatchObject({ on: 'web', items: { succeeded: 4, failed: 1 } });
    // The run ended: its records on the hosts are gone (they matter only to a run that can be resumed).
    expect(existsSync(join('/home', c.user, '.runbook', 'runs', r.events[0].run))).toBe(false);
    expect(agg.error).toMatch(/1 of 5 hosts failed, within max_failures 1; host-3: exit code 7/);
  });

  it('honours concurrency and rolling batches (timestamps prove them)', async () => {
    const c = sshd.cluster;
    const t = setup(
      c,
      `      - id: roll
        on: web
        concurrency: 2
        batch: 40%
        irreversible: sleeps
        shell: { run: "sleep 0.6" }`,
    );
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code, r.stderr).toBe(0);
    const spans = c.hosts.map((h) => {
      const a = `roll[${h.name}]`;
      const start = Date.parse(r.events.find((e) => e.type === 'step.started' && e.step === a)!.ts);
      const end = Date.parse(r.events.find((e) => e.type === 'step.finished' && e.step === a)!.ts);
      return { start, end };
    });
    // batches of 2 (40 % of 5): hosts 1–2, 3–4, 5; each starts after the previous batch ended.
    expect(spans[2].start).toBeGreaterThanOrEqual(Math.max(spans[0].end, spans[1].end));
    expect(spans[4].start).toBeGreaterThanOrEqual(Math.max(spans[2].end, spans[3].end));
    // within a batch both run at once
    expect(spans[1].start).toBeLessThan(spans[0].end);
    for (const at of spans.map((s) => s.start + 1)) expect(spans.filter((s) => s.start <= at && at < s.end).length).toBeLessThanOrEqual(2);
  });

  for (const [max, started, status] of [
    ['0', ['host-1', 'host-2'], 'failed'],
    ['1', ['host-1', 'host-2', 'host-3', 'host-4'], 'failed'],
    ['40%', ['host-1', 'host-2', 'host-3', 'host-4', 'host-5'], 'succeeded'],
  ] as const) {
    it(`max_failures: ${max} (hosts 2 and 4 fail)`, async () => {
      const c = sshd.cluster;
      const t = setup(
        c,
        `      - id: try
        on: web
        max_failures: ${max}
        irreversible: marker
        shell: { run: "echo x >> \${{ host.vars.dir }}/MARK; [ \${{ host.vars.fail }} = no ]" }`,
        { vars: (i) => ({ fail: i === 1 || i === 3 ? 'yes' : 'no' }) },
      );
      const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
      expect(r.code, r.stderr).toBe(status === 'succeeded' ? 0 : 1);
      const ran = c.hosts.filter((_, i) => lines(c, i, t.marker).length === 1).map((h) => h.name);
      expect(ran).toEqual(started);
      const agg = r.events.find((e) => e.type === 'step.finished' && e.step === 'try') as Extract<RunEvent, { type: 'step.finished' }>;
      expect(agg.status).toBe(status);
    });
  }

  it('rolls back exactly the hosts that started, in reverse order of start', async () => {
    const c = sshd.cluster;
    const t = setup(
      c,
      `      - id: restart
        on: web
        shell: { run: "echo restarted >> \${{ host.vars.dir }}/MARK; [ \${{ host.name }} != host-3 ]" }
        rollback: { shell: { run: "echo rolled-back >> \${{ host.vars.dir }}/MARK" } }`,
    );
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code).toBe(1);
    const order = r.events.filter((e) => e.type === 'rollback.started').map((e) => e.step);
    expect(order).toEqual(['restart[host-3]', 'restart[host-2]', 'restart[host-1]']);
    for (const i of [0, 1, 2]) expect(lines(c, i, t.marker)).toEqual(['restarted', 'rolled-back']);
    for (const i of [3, 4]) expect(lines(c, i, t.marker)).toEqual([]);
  });

  it('a remote timeout kills the whole remote tree (TERM-ignoring child, setsid grandchild)', async () => {
    const c = sshd.cluster;
    const tag = `30${n}.4`;
    const t = setup(
      c,
      `      - id: hang
        on: web
        concurrency: 5
        timeout: 2s
        irreversible: sleeps
        shell: { run: "(trap '' TERM; sleep ${tag}1) & setsid sleep ${tag}2 & sleep ${tag}3" }`,
    );
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code).toBe(1);
    expect(finished(r.events, 'hang').map((e) => e.status)).toEqual(Array(5).fill('timed_out'));
    expect(userProcesses(`sleep ${tag}`)).toEqual([]);
  });

  it('kill -9 of the runner mid-fan-out, then resume: no host runs twice', async () => {
    const c = sshd.cluster;
    // host-3 finishes while no runner lives; host-4 and host-5 run until the test releases them.
    const t = setup(
      c,
      `      - id: slow
        on: web
        concurrency: 5
        irreversible: marker
        shell:
          run: |
            echo start >> \${{ host.vars.dir }}/MARK
            sleep \${{ host.vars.delay }}
            while [ \${{ host.vars.hold }} = yes ] && [ ! -e \${{ host.vars.dir }}/MARK.release ]; do sleep 0.1; done
            echo done >> \${{ host.vars.dir }}/MARK`,
      { vars: (i) => ({ delay: [0, 0, 2, 0, 0][i], hold: i >= 3 ? 'yes' : 'no' }) },
    );
    const p = spawnCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    await p.waitForEvent((e) => e.type === 'step.finished' && e.step === 'slow[host-1]', 20_000);
    await p.waitForEvent((e) => e.type === 'step.finished' && e.step === 'slow[host-2]', 20_000);
    process.kill(p.pid, 'SIGKILL');
    await p.done;
    await new Promise((r) => setTimeout(r, 2500));
    expect(lines(c, 2, t.marker)).toEqual(['start', 'done']);
    const resume = spawnCli(['resume', 'latest', '--json', '--state-dir', t.state]);
    for (const h of ['host-4', 'host-5']) {
      await resume.waitForEvent((e) => e.type === 'step.output' && e.step === `slow[${h}]` && /still running on .* waiting for it/.test(e.text), 20_000);
    }
    for (const i of [3, 4]) writeFileSync(join(c.hosts[i].dir, `${t.marker}.release`), '');
    const r = await resume.done;
    expect(r.code, r.stderr).toBe(0);
    for (let i = 0; i < 5; i++) expect(lines(c, i, t.marker), c.hosts[i].name).toEqual(['start', 'done']);
    // Hosts 1–2 may or may not have reached the journal before the kill (events are forced to disk
    // before a side effect, not after); either way the host's record settles them.
    const settled = finished(r.events, 'slow').map((e) => e.host);
    expect(settled).toEqual(expect.arrayContaining(['host-3', 'host-4', 'host-5']));
    const said = r.events.flatMap((e) => (e.type === 'step.output' && e.step.startsWith('slow[') ? [e.text] : []));
    expect(said.filter((t) => /finished on host-\d while the runner was down: exit code 0; not run again/.test(t)).length).toBe(settled.length);
    expect(r.events.some((e) => e.type === 'step.started' && e.step.startsWith('slow['))).toBe(false);
  });

  it('a partition (its proxy SIGSTOPped) fails that host within the keepalive bound; the others finish; the remote group is killed after SIGCONT', async () => {
    const c = sshd.cluster;
    const proxy = await startProxy(c.hosts[1].address, c.hosts[1].port);
    try {
      const known = join(root, 'known-proxy');
      writeFileSync(known, readFileSync(c.knownHosts, 'utf8') + `[${c.hosts[1].address}]:${proxy.port} ${c.hosts[1].publicKey}\n`);
      const tag = `0${n}17`; // host-2 sleeps 30.<tag> s, the others 2.<tag> s: unique on the process line
      const t = setup(
        c,
        `      - id: work
        on: web
        concurrency: 5
        max_failures: 1
        irreversible: marker
        shell: { run: "echo start >> \${{ host.vars.dir }}/MARK; sleep \${{ host.vars.nap }}.${tag}; echo done >> \${{ host.vars.dir }}/MARK" }`,
        { ports: (i) => (i === 1 ? proxy.port : c.hosts[i].port), knownHosts: known, vars: (i) => ({ nap: i === 1 ? 30 : 2 }) },
      );
      const p = spawnCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
      await p.waitForEvent((e) => e.type === 'step.started' && e.step === 'work[host-2]', 20_000);
      await new Promise((r) => setTimeout(r, 500));
      process.kill(proxy.process.pid!, 'SIGSTOP');
      const stoppedAt = Date.now();
      const lost = (await p.waitForEvent((e) => e.type === 'step.finished' && e.step === 'work[host-2]', 20_000)) as Extract<RunEvent, { type: 'step.finished' }>;
      const took = Date.now() - stoppedAt;
      process.kill(proxy.process.pid!, 'SIGCONT');
      expect(lost.status).toBe('failed');
      expect(lost.error).toMatch(/connection lost to host-2/);
      expect(took).toBeLessThan(3 * 1000 + 3000); // 3 keepalives 1 s apart, and slack for a loaded machine
      const r = await p.done;
      expect(r.code, r.stderr).toBe(0);
      expect(finished(r.events, 'work').filter((e) => e.host !== 'host-2').map((e) => e.status)).toEqual(Array(4).fill('succeeded'));
      expect(userProcesses(`.${tag}`)).toEqual([]);
      expect(lines(c, 1, t.marker)).toEqual(['start']);
    } finally {
      process.kill(proxy.process.pid!, 'SIGCONT');
      await stopProcess(proxy.process);
    }
  });

  it('host vars and params holding shell syntax stay text', async () => {
    const c = sshd.cluster;
    const evil = `$(touch ${c.hosts[0].dir}/pwned1); \`touch ${c.hosts[0].dir}/pwned2\` ' " \\`;
    const t = setup(
      c,
      `      - id: say
        on: web
        irreversible: writes a file
        shell: { run: "printf '%s|%s' \${{ host.vars.evil }} \\"\${{ params.p }}\\" > \${{ host.vars.dir }}/MARK" }`,
      { vars: () => ({ evil }), params: `params:\n  p: { default: "; touch ${c.hosts[0].dir}/pwned3 #" }` },
    );
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(c.hosts[0].dir, t.marker), 'utf8')).toBe(`${evil}|; touch ${c.hosts[0].dir}/pwned3 #`);
    for (const f of ['pwned1', 'pwned2', 'pwned3']) expect(existsSync(join(c.hosts[0].dir, f))).toBe(false);
  });

  it('plan shows the hosts and batches; plan --preflight checks each host key and login, changing nothing', async () => {
    const c = sshd.cluster;
    const t = setup(
      c,
      `      - id: restart
        on: web
        batch: 2
        estimate: 1s
        irreversible: marker
        shell: { run: "echo ran >> \${{ host.vars.dir }}/MARK" }`,
      { ports: (i) => (i === 4 ? 1 : c.hosts[i].port) },
    );
    const plan = await runCli(['plan', t.file]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('on web: 5 hosts in 3 batches (host-1 host-2 | host-3 host-4 | host-5), 1 at a time, max_failures 0');
    expect(plan.stdout).toMatch(/Predicted: 5s/);
    const pre = await runCli(['plan', t.file, '--preflight']);
    expect(pre.code).not.toBe(0);
    for (const h of c.hosts.slice(0, 4)) expect(pre.stdout + pre.stderr).toMatch(new RegExp(`${h.name}: host key verified, logged in as ${c.user}`));
    expect(pre.stdout + pre.stderr).toMatch(/host-5.*connection refused/);
    for (let i = 0; i < 5; i++) expect(lines(c, i, t.marker)).toEqual([]);
  });

  it('a private key from a secret logs in and is never journaled', async () => {
    const c = sshd.cluster;
    const t = setup(c, `      - id: who
        on: keyed
        irreversible: reads
        shell: { run: "id -un" }`, {
      extra: `  keyed: { ssh: { host: host-1, key: "\${{ secrets.deploy_key }}", known_hosts: ${JSON.stringify(c.knownHosts)} } }`,
      params: 'secrets:\n  deploy_key: { env: DEPLOY_KEY }',
    });
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state], { env: { DEPLOY_KEY: c.privateKey } });
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r.events, 'who')[0]).toMatchObject({ host: 'host-1', result: { stdout: `${c.user}\n` } });
    const body = c.privateKey.split('\n').find((l) => l.length > 40)!;
    const journal = readFileSync(join(t.state, 'runs', r.events[0].run, 'journal.jsonl'), 'utf8');
    expect(journal).not.toContain(body);
    expect(r.stdout + r.stderr).not.toContain(body);
  });

  it("the inventory's ansible_ssh_private_key_file logs a host in", async () => {
    const c = sshd.cluster;
    const t = setup(c, `      - id: who
        on: web
        irreversible: reads
        shell: { run: "id -un" }`, { keyFile: false, vars: () => ({ ansible_ssh_private_key_file: c.keyFile }) });
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state], { env: { HOME: join(root, 'no-home') } });
    expect(r.code, r.stderr).toBe(0);
    expect(finished(r.events, 'who').map((e) => (e.result as { stdout: string }).stdout)).toEqual(Array(5).fill(`${c.user}\n`));
  });

  it('a missing inventory group is an error at its place before anything runs (exit 2)', async () => {
    const c = sshd.cluster;
    const t = setup(c, `      - id: x\n        on: db\n        irreversible: x\n        shell: { run: "touch \${{ host.vars.dir }}/nope" }`, {
      extra: `  db: { ssh: { hosts: databse, key_file: ${JSON.stringify(c.keyFile)}, known_hosts: ${JSON.stringify(c.knownHosts)} } }`,
    });
    const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/rb\.yaml:\d+:\d+: .*no group or host 'databse'/);
    expect(existsSync(t.state)).toBe(false);
  });

  it('a changed host key, a refused port and a wrong user each fail their host, named, before any command runs', async () => {
    const c = sshd.cluster;
    // The runbook's known_hosts keeps host-1's old key; the server then gets a new one.
    const known = join(root, 'known-before-rotation');
    copyFileSync(c.knownHosts, known);
    const t = setup(
      c,
      `      - id: touch
        on: web
        concurrency: 5
        max_failures: 3
        irreversible: marker
        shell: { run: "echo ran >> \${{ host.vars.dir }}/MARK" }`,
      { ports: (i) => (i === 1 ? 1 : c.hosts[i].port), vars: (i) => (i === 2 ? { ansible_user: 'nobody-here' } : {}), knownHosts: known },
    );
    const oldKey = c.hosts[0].publicKey;
    await c.rotateHostKey(0);
    {
      const r = await runCli(['run', t.file, '--json', '--yes', '--state-dir', t.state]);
      const byHost = Object.fromEntries(finished(r.events, 'touch').map((e) => [e.host, e]));
      expect(byHost['host-1'].error).toMatch(/host key of host-1 has CHANGED: expected SHA256:\S+ .*presented SHA256:\S+/);
      expect(byHost['host-2'].error).toMatch(/host-2.*connection refused/);
      expect(byHost['host-3'].error).toMatch(/host-3.*login as 'nobody-here' refused/);
      expect(r.code).toBe(0); // 3 failures, tolerated
      for (const i of [0, 1, 2]) expect(lines(c, i, t.marker)).toEqual([]);
      for (const i of [3, 4]) expect(lines(c, i, t.marker)).toEqual(['ran']);
      expect(oldKey).not.toBe(c.hosts[0].publicKey);
    }
  });
});
