/**
 * dashboards/disaster-recovery.json against a real Prometheus: a history of real CLI runs, its
 * `runbook stats --format prometheus` and `runbook report --format prometheus` written into a
 * node_exporter textfile directory, Debian's prometheus-node-exporter serving them and Debian's
 * prometheus scraping it every second. Every query of every panel must return series through the
 * HTTP API, and `promtool check metrics` must pass on both expositions.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO, runCli } from '../helpers/cli.js';
import { makeHistory } from '../report/kpi-history.js';

const BIN = { prometheus: '/usr/bin/prometheus', nodeExporter: '/usr/bin/prometheus-node-exporter', promtool: '/usr/bin/promtool' };
const missing = Object.values(BIN).filter((b) => !existsSync(b));
if (missing.length && process.env.CI === 'true') throw new Error(`missing in CI: ${missing.join(', ')}`);
if (missing.length) console.warn(`skipping the dashboard test: ${missing.join(', ')} not installed`);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(REPO, 'dashboards/disaster-recovery.json'), 'utf8')) as { uid: string; panels: Panel[] };
const queries = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

let dir: string;
const children: ChildProcess[] = [];
let promUrl: string;
const expositions: Record<string, string> = {};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function start(bin: string, args: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on('exit', (code) => {
    if (code && code !== 0) console.warn(`${bin} exited ${code}: ${err}`);
  });
  children.push(child);
  return child;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function query(expr: string): Promise<{ status: string; data: { resultType: string; result: unknown[] } }> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; data: { resultType: string; result: unknown[] } };
}

describe.skipIf(missing.length > 0)('dashboards/disaster-recovery.json with a real Prometheus', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runbook-dashboard-'));
    const { stateDir, runs } = await makeHistory(dir);
    writeFileSync(join(dir, 'drills.yaml'), 'drills:\n  - { runbook: rec, every: weekly }\n  - { runbook: rt, every: monthly }\n');
    const textDir = join(dir, 'textfile');
    mkdirSync(textDir);
    // The latest real recovery's report, as a timer would export it after each run.
    const last = runs.filter((r) => !r.dryRun).pop()!;
    for (const [name, args] of [
      ['runbook-kpi.prom', ['stats', '--format', 'prometheus']],
      ['runbook-report.prom', ['report', last.started.run, '--format', 'prometheus']],
    ] as const) {
      const out = join(textDir, name);
      const res = await runCli([...args, '--state-dir', stateDir, '-o', out], { cwd: dir });
      expect(res.code, res.stderr).toBe(0);
      expositions[name] = readFileSync(out, 'utf8');
    }

    const exporterPort = await freePort();
    start(BIN.nodeExporter, [`--web.listen-address=127.0.0.1:${exporterPort}`, '--collector.disable-defaults', '--collector.textfile', `--collector.textfile.directory=${textDir}`]);
    const promPort = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:${exporterPort}']\n`);
    start(BIN.prometheus, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    promUrl = `http://127.0.0.1:${promPort}`;
    await until('prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
    // The first scrape has landed once the exporter's own and runbook's series are there.
    await until('the first scrape of the textfile metrics', async () => ((await query('runbook_kpi_generated_timestamp_seconds')).data.result.length ? true : undefined));
  }, 120_000);

  afterAll(async () => {
    const signal = (pid: number, sig: NodeJS.Signals) => {
      try {
        process.kill(pid, sig);
      } catch {
        // Already gone.
      }
    };
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null || !c.pid) continue;
      const exited = new Promise((r) => c.once('exit', r));
      signal(c.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (c.exitCode === null && c.signalCode === null) signal(c.pid, 'SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('promtool check metrics passes on every exposition runbook wrote', () => {
    for (const [name, text] of Object.entries(expositions)) {
      expect(text, name).toMatch(/^# HELP /m);
      const res = spawnSync(BIN.promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(res.status, `${name}: ${res.stdout}${res.stderr}`).toBe(0);
      expect(res.stdout + res.stderr, name).toBe('');
    }
  });

  it('node_exporter serves the textfile metrics without errors', async () => {
    const errors = await query('node_textfile_scrape_error');
    expect(errors.data.result).toEqual([expect.objectContaining({ value: [expect.any(Number), '0'] })]);
  });

  it('has the guide panels', () => {
    expect(dashboard.uid).toBe('disaster-recovery');
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of ['Backup success rate', 'Backup duration over time', 'Recovery time vs RTO, by runbook', 'MTTR', 'RPO achieved vs objective, by runbook', 'Drill results', 'Overdue drills']) {
      expect(titles).toContain(t);
    }
    expect(queries.length).toBeGreaterThanOrEqual(20);
  });

  it.each(queries)('$panel: $expr returns series', async ({ expr }) => {
    const res = await query(expr);
    expect(res.status).toBe('success');
    expect(res.data.result.length, `${expr} returned no series`).toBeGreaterThan(0);
  });

  it('the figures arrive as runbook computed them', async () => {
    const value = async (expr: string) => Number(((await query(expr)).data.result[0] as { value: [number, string] }).value[1]);
    expect(await value('runbook_kpi_success_ratio{kind="backup"}')).toBe(0.75);
    expect(await value('runbook_kpi_rto_met_ratio{runbook="rec"}')).toBe(0.5);
    expect(await value('sum(runbook_drill_overdue)')).toBe(1);
  });
});
