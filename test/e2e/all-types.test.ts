// End to end through the real CLI: one runbook uses all five built-in step types against real
// PostgreSQL, S3 (s3rver), Docker (Podman's API) and HTTP, then the same runbook fails at its last
// step and every started step's rollback — one of each type — must really undo its work.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ListObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { usePostgresForSuite } from '../helpers/postgres.js';
import { useS3 } from '../helpers/s3.js';
import { BUSYBOX_IMAGE, useDocker } from '../helpers/docker.js';
import { stepHarness } from '../helpers/step-context.js';
import { dockerConnection, dockerStep } from '../../src/steps/docker/index.js';
import type { RunEvent } from '../../src/interpreter/events.js';

const CLI = new URL('../../dist/src/cli.js', import.meta.url).pathname;
const RUNBOOK = new URL('../runbooks/e2e/all-types.yaml', import.meta.url).pathname;
const IMAGE = 'runbook-e2e-web:1';

const built = existsSync(CLI);
if (!built) {
  if (process.env.CI === 'true') throw new Error(`${CLI} missing: npm test builds it first`);
  console.warn(`skipping end-to-end tests: ${CLI} not built (npm run build)`);
}

const pg = usePostgresForSuite();
const s3 = await useS3({ buckets: ['e2e-backups'] });
const docker = await useDocker({ images: { [IMAGE]: { '/www/health': '{"status":"UP"}\n' } } });

describe.skipIf(!built || s3.skip || docker.skip)('all five step types, end to end', () => {
  let work: string;
  let notifier: Server;
  let notifyUrl: string;
  const notified: unknown[] = [];
  let port: number;

  const dockerExec = async (body: Record<string, unknown>) => {
    const env = { ...process.env, DOCKER_HOST: docker.api.host };
    const client = await dockerConnection.open({ host: docker.api.host, project: 'e2e' }, { runId: 'e2e-setup', baseDir: process.cwd(), env });
    try {
      const h = stepHarness({ signal: AbortSignal.timeout(30_000), runId: 'e2e-setup', stepId: 'setup', env, connections: { kind: 'docker', open: () => client } });
      return await dockerStep.execute({ connection: 'engine', ...body } as never, h.ctx);
    } finally {
      await dockerConnection.close?.(client);
    }
  };

  const run = (extra: string[], opts: { command?: string[]; pgPort?: number } = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string; events: RunEvent[] }>((resolve) => {
      const server = pg.get();
      const child = spawn(
        process.execPath,
        [CLI, ...(opts.command ?? ['run', RUNBOOK, '--json']), '--state-dir', join(work, 'state'), '--set', `port=${port}`, '--set', `notify_url=${notifyUrl}`, ...extra],
        {
          env: {
            ...process.env,
            E2E_PGPASSWORD: server.password,
            E2E_PGPORT: String(opts.pgPort ?? server.port),
            E2E_PGUSER: server.user,
            PG_BIN: server.binDir,
            E2E_WORKDIR: work,
            S3_ENDPOINT: s3.server.endpoint,
            AWS_ACCESS_KEY_ID: s3.server.accessKeyId,
            AWS_SECRET_ACCESS_KEY: s3.server.secretAccessKey,
            DOCKER_HOST: docker.api.host,
          },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => {
        const events = stdout
          .split('\n')
          .filter((l) => l.startsWith('{"ts"'))
          .map((l) => JSON.parse(l) as RunEvent);
        resolve({ code, stdout, stderr, events });
      });
    });

  const objects = async () => {
    const client = new S3Client({
      endpoint: s3.server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.server.accessKeyId, secretAccessKey: s3.server.secretAccessKey },
    });
    const r = await client.send(new ListObjectsCommand({ Bucket: 'e2e-backups', Prefix: 'e2e/' }));
    client.destroy();
    return (r.Contents ?? []).map((o) => o.Key!);
  };
  const containerState = async () => {
    const r = (await dockerExec({ action: 'ps', all: true, service: 'web' })) as { containers: { state: string }[] };
    return r.containers.map((c) => c.state);
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'runbook-e2e-'));
    notifier = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        notified.push(JSON.parse(body || 'null'));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => notifier.listen(0, '127.0.0.1', r));
    notifyUrl = `http://127.0.0.1:${(notifier.address() as { port: number }).port}/notify`;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    await pg.get().psql('CREATE TABLE rollback_audit (step text NOT NULL, at timestamptz NOT NULL DEFAULT now())');
    await dockerExec({
      action: 'run',
      image: IMAGE,
      name: 'e2e-web',
      cmd: ['httpd', '-f', '-p', `127.0.0.1:${port}`, '-h', '/www'],
      labels: { 'com.docker.compose.project': 'e2e', 'com.docker.compose.service': 'web' },
      detach: true,
      remove: false,
    });
  });

  afterAll(async () => {
    await new Promise((r) => notifier?.close(r));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await pg.get().psql('DROP TABLE IF EXISTS orders; TRUNCATE rollback_audit');
    notified.length = 0;
  });

  it('plan --preflight checks every connection and every target, read-only', async () => {
    const r = await run([], { command: ['plan', RUNBOOK, '--preflight', '--json'] });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { preflight: { target: string; ok: boolean; detail: string }[] };
    const byTarget = Object.fromEntries(plan.preflight.map((c) => [c.target, c]));
    for (const name of ['db (postgres)', 'store (s3)', 'engine (docker)', 'app (http)']) {
      expect(Object.keys(byTarget).some((t) => t.startsWith(`connection ${name}`) && byTarget[t].ok)).toBe(true);
    }
    expect(byTarget['step find: s3://e2e-backups/e2e/']).toMatchObject({ ok: true });
    expect(byTarget[`step healthy: GET http://127.0.0.1:${port}/health`]).toMatchObject({ ok: true, detail: 'answers 200' });
    expect(plan.preflight.filter((c) => c.target.startsWith('step restart')).every((c) => c.ok)).toBe(true);
    expect(plan.preflight.every((c) => c.ok)).toBe(true);
    // Nothing was changed: no table, no object.
    expect((await pg.get().psql("SELECT to_regclass('orders') IS NULL")).trim()).toBe('t');
    expect(await objects()).toEqual([]);

    // A database that does not answer fails its check and the command exits 1.
    const bad = await run([], { command: ['plan', RUNBOOK, '--preflight'], pgPort: 1 });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/✗ connection db \(postgres\).*127\.0\.0\.1:1/);
    expect(bad.stdout).not.toContain(pg.get().password);
  });

  it('backs up, loses and restores a table, restarts the app and waits for its health', async () => {
    const r = await run([]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const finished = r.events.find((e) => e.type === 'run.finished');
    expect(finished).toMatchObject({ status: 'succeeded', rto_met: true, measures: { rows_restored: 250 } });
    // Real outcomes: every row is back, the dump is in the bucket, the container runs, health answered.
    expect((await pg.get().psql('SELECT count(*), max(id) FROM orders')).trim()).toBe('250|250');
    const runId = finished!.run;
    expect(await objects()).toContain(`e2e/orders-${runId}.dump`);
    expect(await containerState()).toEqual(['running']);
    const healthy = r.events.find((e) => e.type === 'step.finished' && e.step === 'healthy');
    expect(healthy).toMatchObject({ status: 'succeeded', result: { status: 200, json: { status: 'UP' } } });
    // Steps ran in order, each once.
    const started = r.events.filter((e) => e.type === 'step.started').map((e) => (e as { step: string }).step);
    expect(started).toEqual(['create', 'dump', 'upload', 'drop', 'find', 'download', 'restore', 'verify', 'restart', 'healthy', 'final-check']);
    expect(r.events.some((e) => e.type === 'rollback.started')).toBe(false);
    // The password is a secret: it never appears in the events or the journal.
    const journal = readFileSync(join(work, 'state', 'runs', runId, 'journal.jsonl'), 'utf8');
    expect(r.stdout).not.toContain(pg.get().password);
    expect(journal).not.toContain(pg.get().password);
  });

  it('rolls back every started step, one of each type, in reverse start order when the last step fails', async () => {
    const r = await run(['--set', 'fail_at_end=true']);
    expect(r.code).toBe(1);
    const finished = r.events.find((e) => e.type === 'run.finished');
    expect(finished).toMatchObject({ status: 'rolled_back', rto_met: false });
    const rollbacks = r.events.filter((e) => e.type === 'rollback.finished') as { step: string; status: string }[];
    expect(rollbacks.map((e) => [e.step, e.status])).toEqual([
      ['healthy', 'succeeded'],
      ['restart', 'succeeded'],
      ['upload', 'succeeded'],
      ['dump', 'succeeded'],
      ['create', 'succeeded'],
    ]);
    // Each rollback's effect is real: http notified, container stopped, object deleted, shell wrote, sql inserted.
    const runId = finished!.run;
    expect(notified).toEqual([{ rolled_back: 'healthy', run: runId }]);
    expect(await containerState()).toEqual(['exited']);
    expect(await objects()).not.toContain(`e2e/orders-${runId}.dump`);
    expect(readFileSync(join(work, 'rollbacks.log'), 'utf8')).toBe('dump\n');
    expect((await pg.get().psql('SELECT step FROM rollback_audit')).trim()).toBe('create');
    // Bring the app back for any later test.
    await dockerExec({ action: 'start', service: 'web' });
  });
});
