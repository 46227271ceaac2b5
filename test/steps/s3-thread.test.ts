// The s3 step's work runs in a thread of its own (src/steps/s3/thread.ts): what that must not change
// (results, progress, aborts: test/steps/s3.test.ts runs through it) and what it adds: the
// interpreter's thread never loads the AWS SDK for a step, a thread that dies fails the steps in
// flight (and its download's temp file is removed) and the next step gets a new one, a stopped
// thread's late exit fails nothing of the thread after it, and an idle thread keeps no process alive.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ConnectionConfig } from '../../src/steps/s3/connection.js';
import { s3Connection, s3Step, type S3Body } from '../../src/steps/s3/index.js';
import { currentS3Thread, stopS3Thread } from '../../src/steps/s3/thread.js';
import { runModuleScript } from '../helpers/cli.js';
import { useS3 } from '../helpers/s3.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';

const s3 = await useS3({ buckets: ['backups'] });
const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let dir: string;

const config = (): S3ConnectionConfig => ({
  bucket: 'backups',
  region: s3.server.region,
  endpoint: s3.server.endpoint,
  access_key_id: s3.server.accessKeyId,
  secret_access_key: s3.server.secretAccessKey,
});
const opened: ReturnType<typeof s3Connection.open>[] = [];
function harness() {
  return stepHarness({
    baseDir: dir,
    connections: {
      kind: 's3',
      open: () => {
        const conn = s3Connection.open(config(), { runId: 'test-run', baseDir: dir, env: process.env });
        opened.push(conn);
        return conn;
      },
    },
  });
}
const exec = (body: Partial<S3Body>, h = harness()) => s3Step.execute({ connection: 'store', ...body } as S3Body, h.ctx);

describe.skipIf(s3.skip)('the s3 thread', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runbook-s3-thread-'));
  });
  afterAll(async () => {
    for (const conn of opened) s3Connection.close!((await conn) as never);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs put, latest and get there: this thread never loads the AWS SDK', async () => {
    const data = randomBytes(3 * MiB);
    await writeFile(join(dir, 'dump.bin'), data);
    await exec({ action: 'put', key: 'full/1.dump', file: 'dump.bin' });
    expect(await exec({ action: 'latest', prefix: 'full/' })).toMatchObject({ key: 'full/1.dump', sha256: sha256(data) });
    expect(await exec({ action: 'get', key: 'full/1.dump', file: 'got/1.dump' })).toMatchObject({ verified: true, bytes: data.length });
    expect(currentS3Thread()?.threadId).toBeGreaterThan(0);
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('@aws-sdk') || f.includes('@smithy'));
    expect(loaded).toEqual([]);
  });

  it('a thread that dies fails the steps in flight; the next step gets a new thread', async () => {
    await writeFile(join(dir, 'big.bin'), randomBytes(48 * MiB));
    await exec({ action: 'put', key: 'big/1.bin', file: 'big.bin' });
    const h = harness();
    const first = currentS3Thread();
    // Stop the thread once the download is really under way: its temp file is on disk.
    let stopping = false;
    const watch = setInterval(() => {
      let names: string[] = [];
      try {
        names = readdirSync(join(dir, 'big'));
      } catch {
        // the folder is not made yet
      }
      if (!stopping && names.some((f) => f.endsWith('.part'))) {
        stopping = true;
        void currentS3Thread()?.terminate();
      }
    }, 1);
    const err = await failureOf(exec({ action: 'get', key: 'big/1.bin', file: 'big/1.bin' }, h)).finally(() => clearInterval(watch));
    expect(stopping).toBe(true);
    expect(err.message).toMatch(/^the s3 thread failed: it exited/);
    expect(await exec({ action: 'head', key: 'big/1.bin' })).toMatchObject({ size: 48 * MiB });
    expect(currentS3Thread()).toBeDefined();
    expect(currentS3Thread()).not.toBe(first);
    // Neither the destination nor the temp file the download was writing (the thread said which).
    expect(await readdir(join(dir, 'big'))).toEqual([]);
  });

  it("a stopped thread's exit does not fail the steps of the thread started after it", async () => {
    await exec({ action: 'list', prefix: 'full/' });
    const stopped = currentS3Thread()!;
    const exited = new Promise((resolve) => stopped.once('exit', resolve));
    // The CLI stops the thread after a run; a next run in the same process starts a new one while
    // the old one is still exiting.
    await stopS3Thread();
    const next = exec({ action: 'list', prefix: 'full/' });
    await exited;
    expect(await next).toMatchObject({ count: 1 });
    expect(currentS3Thread()).not.toBe(stopped);
  });

  it('an idle thread keeps no process alive', async () => {
    // A process whose only work was an s3 step ends by itself once the step is done.
    const thread = new URL('../../dist/src/steps/s3/thread.js', import.meta.url).href;
    const connection = new URL('../../dist/src/steps/s3/connection.js', import.meta.url).href;
    const script = `
      const { runInS3Thread } = await import(${JSON.stringify(thread)});
      const { makeS3ClientConfig } = await import(${JSON.stringify(connection)});
      const r = await runInS3Thread({ conn: 'c', clientConfig: makeS3ClientConfig(${JSON.stringify(config())}, {}), body: { connection: 'c', action: 'list', prefix: 'nothing-here/' }, bucket: 'backups', baseDir: '/' }, new AbortController().signal, () => {});
      console.log(JSON.stringify(r.objects));`;
    const started = Date.now();
    const { code, stdout, stderr } = await runModuleScript(script);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toBe('[]');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
