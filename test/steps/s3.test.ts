import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeS3ClientConfig, type S3ConnectionConfig } from '../../src/steps/s3/connection.js';
import { listSettings, s3Connection, s3Step, transferSettings, type S3Body } from '../../src/steps/s3/index.js';
import { useS3 } from '../helpers/s3.js';
import { failureOf, stepHarness } from '../helpers/step-context.js';

const s3 = await useS3({ buckets: ['backups', 'archive'] });
const MiB = 1024 * 1024;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

let dir: string;
const opened: Promise<{ client: S3Client }>[] = [];

function connectionConfig(over: Partial<S3ConnectionConfig> = {}): S3ConnectionConfig {
  return {
    bucket: 'backups',
    region: s3.server.region,
    endpoint: s3.server.endpoint,
    force_path_style: true,
    access_key_id: s3.server.accessKeyId,
    secret_access_key: s3.server.secretAccessKey,
    ...over,
  };
}

function harness(connections: Record<string, S3ConnectionConfig> = { store: connectionConfig() }) {
  return stepHarness({
    baseDir: dir,
    stepId: 's3-step',
    connections: {
      kind: 's3',
      open: (name) => {
        const conn = Promise.resolve(s3Connection.open(connections[name], { runId: 'test-run', baseDir: dir, env: process.env }));
        opened.push(conn);
        return conn;
      },
    },
  });
}

const exec = (body: Partial<S3Body>, h = harness()) => s3Step.execute({ connection: 'store', ...body } as S3Body, h.ctx);

let raw: S3Client;

describe.skipIf(s3.skip)('s3 step against s3rver', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runbook-s3-test-'));
    raw = new S3Client(makeS3ClientConfig(connectionConfig(), {}));
  });
  afterEach(() => {
    transferSettings.partSize = 8 * MiB;
    listSettings.pageSize = undefined;
  });
  afterAll(async () => {
    raw?.destroy();
    for (const conn of opened) s3Connection.close!((await conn) as never);
    await rm(dir, { recursive: true, force: true });
  });

  it('puts text content with its sha256 in the metadata', async () => {
    const content = 'pg_dump --format=custom trading\n';
    const result = await exec({ action: 'put', key: 'notes/a.txt', content });
    expect(result).toMatchObject({
      bucket: 'backups',
      key: 'notes/a.txt',
      size: Buffer.byteLength(content),
      bytes: Buffer.byteLength(content),
      sha256: sha256(content),
    });
    expect(result.etag).toMatch(/^[0-9a-f]{32}$/);
    expect(Date.parse(result.last_modified as string)).toBeGreaterThan(Date.now() - 60_000);
    const got = await raw.send(new GetObjectCommand({ Bucket: 'backups', Key: 'notes/a.txt' }));
    expect(await got.Body!.transformToString()).toBe(content);
    expect(got.Metadata).toEqual({ sha256: sha256(content) });
  });

  it('streams a multi-part file up and down, verifying sha256, with progress', async () => {
    transferSettings.partSize = 5 * MiB;
    const data = randomBytes(12 * MiB + 123);
    await writeFile(join(dir, 'dump.bin'), data);
    const up = harness();
    const put = await exec({ action: 'put', key: 'pg/full/dump.bin', file: 'dump.bin' }, up);
    expect(put).toMatchObject({ key: 'pg/full/dump.bin', size: data.length, bytes: data.length, sha256: sha256(data) });
    // One progress event per acknowledged part (parts finish in any order) shows the multipart path was taken.
    const sent = up.progress.filter((p) => p.bytes! > 0).map((p) => p.bytes!);
    expect(sent).toHaveLength(4);
    expect([5 * MiB, 2 * MiB + 123]).toContain(sent[0]);
    expect(sent.slice(2)).toEqual([data.length, data.length]);
    expect(up.progress.at(-1)).toMatchObject({ bytes: data.length, total: data.length });

    const down = harness();
    const get = await exec({ action: 'get', key: 'pg/full/dump.bin', file: 'restore/dump.bin' }, down);
    expect(get).toMatchObject({
      key: 'pg/full/dump.bin',
      file: join(dir, 'restore/dump.bin'),
      size: data.length,
      bytes: data.length,
      sha256: sha256(data),
      verified: true,
    });
    expect(sha256(await readFile(join(dir, 'restore/dump.bin')))).toBe(sha256(data));
    expect(await readdir(join(dir, 'restore'))).toEqual(['dump.bin']);
    expect(down.progress.at(-1)).toMatchObject({ bytes: data.length, total: data.length });
  });

  it('refuses a tampered object: get fails and leaves no file', async () => {
    await exec({ action: 'put', key: 'tamper/dump.sql', content: 'original' });
    // Overwrite behind the step's back, keeping the old digest in the metadata.
    await raw.send(
      new PutObjectCommand({ Bucket: 'backups', Key: 'tamper/dump.sql', Body: 'evil', Metadata: { sha256: sha256('original') } }),
    );
    const err = await failureOf(exec({ action: 'get', key: 'tamper/dump.sql', file: 'tampered/dump.sql' }));
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.message).toContain('sha256 mismatch');
    expect(err.result).toMatchObject({ sha256: sha256('original'), sha256_actual: sha256('evil'), bytes: 4 });
    expect(await readdir(join(dir, 'tampered'))).toEqual([]);
  });

  it('gets an object without a stored sha256 (not verified, digest reported)', async () => {
    await raw.send(new PutObjectCommand({ Bucket: 'backups', Key: 'plain.txt', Body: 'plain' }));
    const result = await exec({ action: 'get', key: 'plain.txt', file: 'plain.txt' });
    expect(result).toMatchObject({ sha256: sha256('plain'), verified: false, bytes: 5 });
    expect(await readFile(join(dir, 'plain.txt'), 'utf8')).toBe('plain');
  });

  it('lists newest first across pages, and finds the latest under a prefix', async () => {
    // s3rver's Last-Modified is the stored file's mtime (second resolution): set distinct times.
    const times: Record<string, number> = { 'daily/b.dump': 1_700_000_300, 'daily/a.dump': 1_700_000_200, 'daily/c.dump': 1_700_000_100 };
    for (const key of Object.keys(times)) await exec({ action: 'put', key, content: key });
    await exec({ action: 'put', key: 'weekly/z.dump', content: 'outside the prefix' });
    for (const [key, t] of Object.entries(times)) {
      await utimes(join(s3.server.dir, 'backups', `${key}._S3rver_object`), t, t);
    }
    listSettings.pageSize = 2;
    const list = await exec({ action: 'list', prefix: 'daily/' });
    expect(list.objects).toEqual([
      { key: 'daily/b.dump', size: 12, etag: expect.stringMatching(/^[0-9a-f]{32}$/), last_modified: new Date(1_700_000_300_000).toISOString() },
      { key: 'daily/a.dump', size: 12, etag: expect.any(String), last_modified: new Date(1_700_000_200_000).toISOString() },
      { key: 'daily/c.dump', size: 12, etag: expect.any(String), last_modified: new Date(1_700_000_100_000).toISOString() },
    ]);
    expect(list.count).toBe(3);

    const latest = await exec({ action: 'latest', prefix: 'daily/' });
    expect(latest).toMatchObject({
      key: 'daily/b.dump',
      size: 12,
      sha256: sha256('daily/b.dump'),
      last_modified: new Date(1_700_000_300_000).toISOString(),
      objects: [{ key: 'daily/b.dump' }],
    });

    const none = await failureOf(exec({ action: 'latest', prefix: 'monthly/' }));
    expect(none.message).toBe('s3 latest s3://backups/monthly/: no object under this prefix');
    expect(none.result).toMatchObject({ objects: [], count: 0 });
  });

  it('heads, copies and deletes', async () => {
    await exec({ action: 'put', key: 'copy/src.txt', content: 'copy me' });
    const head = await exec({ action: 'head', key: 'copy/src.txt' });
    expect(head).toMatchObject({ key: 'copy/src.txt', size: 7, sha256: sha256('copy me') });

    const copy = await exec({ action: 'copy', from: 'copy/src.txt', to: 'copy/dst.txt' });
    expect(copy).toMatchObject({ key: 'copy/dst.txt', from: 'copy/src.txt', to: 'copy/dst.txt', size: 7, sha256: sha256('copy me') });

    expect(await exec({ action: 'delete', key: 'copy/src.txt' })).toEqual({ bucket: 'backups', key: 'copy/src.txt', deleted: true });
    const gone = await failureOf(exec({ action: 'head', key: 'copy/src.txt' }));
    expect(gone.message).toBe('s3 head s3://backups/copy/src.txt: not found (404)');
    const dst = await raw.send(new GetObjectCommand({ Bucket: 'backups', Key: 'copy/dst.txt' }));
    expect(await dst.Body!.transformToString()).toBe('copy me');
  });

  it('uses the step bucket over the connection bucket', async () => {
    await exec({ action: 'put', bucket: 'archive', key: 'x.txt', content: 'in archive' });
    const head = await raw.send(new HeadObjectCommand({ Bucket: 'archive', Key: 'x.txt' }));
    expect(head.ContentLength).toBe(10);
    await expect(raw.send(new HeadObjectCommand({ Bucket: 'backups', Key: 'x.txt' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('refuses put with both file and content', async () => {
    const err = await failureOf(exec({ action: 'put', key: 'both', file: 'f', content: 'c' }));
    expect(err.message).toBe('s3 put s3://backups/both: give `file` or `content`, not both');
  });

  it('fails clearly on a missing key and writes nothing', async () => {
    const err = await failureOf(exec({ action: 'get', key: 'nope/missing.dump', file: 'missing/out.dump' }));
    expect(err.message).toMatch(/^s3 get s3:\/\/backups\/nope\/missing\.dump: NoSuchKey: /);
    await expect(readdir(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    const put = await failureOf(exec({ action: 'put', key: 'k', file: 'no-such-file' }));
    expect(put.message).toBe(`s3 put s3://backups/k: cannot read ${join(dir, 'no-such-file')}: ENOENT`);
  });

  it('aborting cancels an upload in flight and stores nothing', async () => {
    transferSettings.partSize = 5 * MiB;
    await writeFile(join(dir, 'big.bin'), randomBytes(20 * MiB));
    const h = harness();
    const reason = new Error('step timed out');
    // Abort once the first part is acknowledged: the upload is then really under way.
    const progress = h.ctx.progress;
    h.ctx.progress = (p) => {
      progress(p);
      if (p.bytes! > 0) h.controller.abort(reason);
    };
    const started = Date.now();
    await expect(exec({ action: 'put', key: 'aborted/big.bin', file: 'big.bin' }, h)).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000);
    // Give lib-storage's background AbortMultipartUpload time to land, then check nothing was stored.
    await new Promise((r) => setTimeout(r, 300));
    await expect(raw.send(new HeadObjectCommand({ Bucket: 'backups', Key: 'aborted/big.bin' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('aborting a download removes the partial file', async () => {
    await raw.send(new PutObjectCommand({ Bucket: 'backups', Key: 'dl/big.bin', Body: randomBytes(8 * MiB) }));
    const h = harness();
    const reason = new Error('operator abort');
    h.ctx.progress = (p) => {
      if (p.bytes! > 0) h.controller.abort(reason);
    };
    await expect(exec({ action: 'get', key: 'dl/big.bin', file: 'dl/big.bin' }, h)).rejects.toBe(reason);
    expect(await readdir(join(dir, 'dl'))).toEqual([]);
  });

  it('an abort before the request starts rejects with the signal reason', async () => {
    const h = harness();
    h.controller.abort(new Error('cancelled by operator'));
    await expect(exec({ action: 'put', key: 'pre/aborted.txt', content: 'x' }, h)).rejects.toThrow('cancelled by operator');
    await expect(raw.send(new HeadObjectCommand({ Bucket: 'backups', Key: 'pre/aborted.txt' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  // s3rver checks the access key id but not v4 signatures, so a wrong secret cannot be caught here.
  it('reports wrong credentials', async () => {
    const h = harness({ store: connectionConfig({ access_key_id: 'NOT-A-KEY' }) });
    const err = await failureOf(exec({ action: 'put', key: 'creds.txt', content: 'x' }, h));
    expect(err.message).toBe(
      's3 put s3://backups/creds.txt: InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records. (HTTP 403)',
    );
  });

  it('reports a refused connection', async () => {
    const port = await closedPort();
    const h = harness({ store: connectionConfig({ endpoint: `http://127.0.0.1:${port}` }) });
    const err = await failureOf(exec({ action: 'head', key: 'k' }, h));
    expect(err.message).toMatch(/^s3 head s3:\/\/backups\/k: ECONNREFUSED/);
  });

  it('preflight: HeadBucket of the connection bucket', async () => {
    const ok = s3Connection.open(connectionConfig(), { runId: 'r', baseDir: dir, env: {} }) as { client: S3Client };
    const missing = s3Connection.open(connectionConfig({ bucket: 'no-such-bucket' }), { runId: 'r', baseDir: dir, env: {} }) as { client: S3Client };
    try {
      expect(await s3Connection.preflight!(ok as never, connectionConfig())).toEqual({
        target: `s3://backups at ${s3.server.endpoint}`,
        ok: true,
        detail: 'bucket backups reachable',
      });
      expect(await s3Connection.preflight!(missing as never, connectionConfig({ bucket: 'no-such-bucket' }))).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/not found|NoSuchBucket/),
      });
    } finally {
      ok.client.destroy();
      missing.client.destroy();
    }
  });
});

describe('s3 connection and body schema', () => {
  it('treats empty strings as not given and keeps the checksum settings', () => {
    const config = makeS3ClientConfig({ endpoint: '', region: '', access_key_id: '', secret_access_key: '' }, {});
    expect(config).toMatchObject({
      endpoint: undefined,
      region: 'us-east-1',
      credentials: undefined,
      forcePathStyle: false,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    expect(makeS3ClientConfig({}, { AWS_REGION: 'eu-west-1' }).region).toBe('eu-west-1');
    expect(makeS3ClientConfig({ endpoint: 'http://127.0.0.1:9000' }, {}).forcePathStyle).toBe(true);
    expect(makeS3ClientConfig({ endpoint: 'http://127.0.0.1:9000', force_path_style: false }, {}).forcePathStyle).toBe(false);
    expect(() => makeS3ClientConfig({ access_key_id: 'AK' }, {})).toThrow('must be given together');
  });

  it('requires each action its fields, with readable errors', () => {
    // The options of src/dsl/validate-schema.ts.
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(s3Step.schema);
    const errors = (body: unknown) => (validate(body) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));
    expect(errors({ connection: 'b', action: 'put', key: 'k', file: 'f' })).toEqual([]);
    expect(errors({ connection: 'b', action: 'latest', prefix: 'p/' })).toEqual([]);
    expect(errors({ connection: 'b', action: 'get', key: 'k' })).toContain(" must have required property 'file'");
    expect(errors({ connection: 'b', action: 'copy', from: 'a' })).toContain(" must have required property 'to'");
    expect(errors({ connection: 'b', action: 'put', key: 'k' })).toContain(" must have required property 'file'");
    expect(errors({ connection: 'b', action: 'put', key: 'k', content: 'c' })).toEqual([]);
    expect(errors({ connection: 'b', action: 'put', content: 'c' })).toEqual([" must have required property 'key'", ' must match "then" schema']);
    expect(errors({ connection: 'b', action: 'move' })).toContain('/action must be equal to one of the allowed values');
    expect(errors({ connection: 'b', action: 'list', extra: 1 })).toContain(' must NOT have additional properties');
  });

  it('renders a short plan line', () => {
    expect(s3Step.render({ connection: 'backups', action: 'latest', prefix: 'pg/full/' })).toBe('s3 latest backups:pg/full/');
    expect(s3Step.render({ connection: 'backups', action: 'put', key: 'k', file: './dump' })).toBe('s3 put backups:k ← ./dump');
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
