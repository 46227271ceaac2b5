/**
 * The guide's backups are encrypted and copied to a second region (runbooks/full-backup.yaml), and
 * the restore (runbooks/database-corruption.yaml) decrypts them and falls back to the second region:
 * - what lies in S3 is ciphertext: `pg_restore --list` refuses it; in both regions, same sha256;
 * - a wrong key stops at the decryption, while the failure is assessed: nothing is contained or restored;
 * - region A's S3 server is down: the restore comes from region B, every row is back, and the
 *   report says which region served it;
 * - a damaged copy in region A (sha256 mismatch): the copy in region B serves.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { corruptObject, countTrades, takeBackup } from '../../examples/sandbox/demo-scenarios.js';
import { DR_BUCKET } from '../../examples/sandbox/sandbox.js';
import { s3ClientConfig } from '../../examples/sandbox/services/s3.js';
import { seedFingerprint } from '../../examples/sandbox/trading-service.js';
import { drill, drillUnavailableReason, report, useSandbox, watchNames } from './sandbox-drill.js';
import { runRunbook } from '../../examples/sandbox/demo-cli.js';

const skip = drillUnavailableReason() !== undefined;
const TRADES = 1500;

const objectFile = (dir: string, bucket: string, key: string) => join(dir, bucket, `${key}._S3rver_object`);
const stepFinished = (events: Record<string, unknown>[], step: string) => events.find((e) => e.type === 'step.finished' && e.step === step);
const started = (events: Record<string, unknown>[], step: string) => events.some((e) => e.type === 'step.started' && e.step === step);

describe.skipIf(skip)('drill: encrypted backups in two regions', () => {
  const box = useSandbox({ trades: TRADES });

  it('stores ciphertext, the same in both regions, that pg_restore cannot read', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    expect(key).toMatch(/\.dump\.age$/);
    const a = readFileSync(objectFile(ctx.sb.s3.dir, ctx.sb.bucket, key));
    const b = readFileSync(objectFile(ctx.sb.s3dr.dir, DR_BUCKET, key));
    expect(a.equals(b)).toBe(true);
    expect(a.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    // Not a PostgreSQL archive: pg_restore refuses the object as stored.
    const list = spawnSync('pg_restore', ['--list', objectFile(ctx.sb.s3.dir, ctx.sb.bucket, key)], { encoding: 'utf8', env: { ...process.env, PATH: ctx.sb.env.PATH } });
    expect(list.status).not.toBe(0);
    expect(list.stderr).toMatch(/input file does not appear to be a valid archive/);
    // With the identity it decrypts to one.
    const plain = execFileSync('bash', ['-c', `age --decrypt --identity <(printf '%s\\n' "$ID") "$F" | pg_restore --list | grep -c 'TABLE DATA'`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: ctx.sb.env.PATH, ID: ctx.sb.age.identity, F: objectFile(ctx.sb.s3dr.dir, DR_BUCKET, key) },
    });
    expect(Number(plain.trim())).toBeGreaterThanOrEqual(2);
  });

  it('a damaged copy in the primary region: the second region serves the restore', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    await corruptObject(ctx.sb, key);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code, run.stderr).toBe(0);
    expect(String(stepFinished(run.events, 'download')!.error)).toContain('sha256 mismatch');
    expect(stepFinished(run.events, 'download-dr')).toMatchObject({ status: 'succeeded' });
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { backup_region: 'eu-central-1', backup_key: key, rows_restored: TRADES } });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
  });

  it('a newer object without a sha256 in the primary region is refused before it is downloaded: the second region serves', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    // Newer than the real backup and under the same prefix, but not made by full-backup.yaml: no sha256.
    const stray = key.replace(/\d{8}T\d{6}Z/, '29991231T235959Z');
    const s3 = new S3Client(s3ClientConfig(ctx.sb.s3));
    await s3.send(new PutObjectCommand({ Bucket: ctx.sb.bucket, Key: stray, Body: 'not a backup' }));
    s3.destroy();
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code, run.stderr).toBe(0);
    expect(stepFinished(run.events, 'find-backup')).toMatchObject({ status: 'failed' });
    expect(String(stepFinished(run.events, 'find-backup')!.error)).toContain('result.sha256 != null');
    expect(stepFinished(run.events, 'download')).toMatchObject({ status: 'skipped' });
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { backup_region: 'eu-central-1', backup_key: key, rows_restored: TRADES } });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
  });

  it('a wrong key stops at the decryption, while assessing: nothing is contained or restored', async () => {
    const ctx = box.ctx();
    await takeBackup(ctx);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const other = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(execFileSync('age-keygen', [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![0];
    const watcher = watchNames(`${ctx.sb.workDir}/restore`);
    const run = await runRunbook('database-corruption', {
      stateDir: ctx.stateDir,
      env: { ...ctx.sb.env, BACKUP_AGE_IDENTITY: other },
      params: { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` },
      extra: ['--json', '--yes'],
    });
    expect(run.code).toBe(1);
    expect(run.finished).toMatchObject({ status: 'failed' });
    expect(stepFinished(run.events, 'decrypt')).toMatchObject({ status: 'failed' });
    expect(run.events.filter((e) => e.type === 'step.output' && e.step === 'decrypt').map((e) => e.text).join('')).toMatch(/no identity matched/);
    // Nothing decrypted was ever written to the work folder, not even for a moment: only the encrypted
    // download and the backup's manifest (fetched beside the key check), and their partial downloads.
    watcher.close();
    expect([...watcher.names].filter((f) => !/^\.?(restore\.dump\.age|manifest\.json)(\.[0-9a-f]+\.part)?$/.test(f))).toEqual([]);
    expect(started(run.events, 'pg-restore')).toBe(false);
    expect(started(run.events, 'maintenance-on')).toBe(false);
    expect(run.events.filter((e) => e.type === 'rollback.finished')).toEqual([]);
    // The key never reaches the journal.
    expect(JSON.stringify(run.events)).not.toContain(other);
    expect(await countTrades(ctx.sb)).toBeUndefined();
    // The verification phase, which removes the download once restored, never came: the finally step did.
    expect(started(run.events, 'remove-dump')).toBe(false);
    expect(stepFinished(run.events, 'cleanup')).toMatchObject({ status: 'succeeded' });
    expect(readdirSync(`${ctx.sb.workDir}/restore`)).toEqual([]);
  });
});

describe.skipIf(skip)('drill: region A is down, region B serves the restore', () => {
  const box = useSandbox({ trades: TRADES });

  it('restores every row from the second region and the report says so', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    // Region A's S3 server goes away (connections refused from now on).
    await ctx.sb.s3.stop();
    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code, run.stderr).toBe(0);
    expect(stepFinished(run.events, 'find-backup')).toMatchObject({ status: 'failed' });
    expect(stepFinished(run.events, 'download')).toMatchObject({ status: 'skipped' });
    expect(stepFinished(run.events, 'find-backup-dr')).toMatchObject({ status: 'succeeded', outputs: { key } });
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { backup_region: 'eu-central-1', backup_key: key, rows_restored: TRADES } });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
    const md = await report(ctx, run.runId!);
    expect(md).toContain(`Restoring ${key} from the eu-central-1 region`);
    expect(md).toMatch(/backup_region.*eu-central-1/);
  });
});
