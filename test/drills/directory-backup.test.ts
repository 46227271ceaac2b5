/**
 * A directory-format backup (`format: directory`, `pg_dump -Fd -j 2`): one encrypted tar per backup,
 * the table of contents first. database-corruption.yaml restores it in place (one job, one transaction)
 * and into a fresh database (`jobs: 2`, swapped in); backup-verification.yaml restores it into its
 * scratch database. Every row comes back, checksums equal. A custom-format backup asked for parallel
 * workers is refused before anything is dumped.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runRunbook } from '../../examples/sandbox/demo-cli.js';
import { countTrades, takeBackup } from '../../examples/sandbox/demo-scenarios.js';
import { seedFingerprint } from '../../examples/sandbox/trading-service.js';
import { drill, drillUnavailableReason, useSandbox } from './sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;
const TRADES = 3000;
const objectFile = (dir: string, bucket: string, key: string) => join(dir, bucket, `${key}._S3rver_object`);
const stepFinished = (events: Record<string, unknown>[], step: string) => events.find((e) => e.type === 'step.finished' && e.step === step);

describe.skipIf(skip)('drill: a directory-format backup (pg_dump -Fd -j 2)', () => {
  const box = useSandbox({ trades: TRADES });

  it('is one encrypted tar, toc.dat first; restored in place, then in parallel and swapped, then verified', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx, { format: 'directory', jobs: 2 });
    expect(key).toMatch(/^postgresql\/full\/\d{8}T\d{6}Z\.dir\.tar\.age$/);
    const object = objectFile(ctx.sb.s3.dir, ctx.sb.bucket, key);
    expect(readFileSync(object).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    // Decrypted, it is a tar of pg_dump's folder with the table of contents as its first member.
    const members = execFileSync('bash', ['-c', `age --decrypt --identity <(printf '%s\\n' "$ID") "$F" | tar -tf -`], {
      encoding: 'utf8',
      env: { ...process.env, PATH: ctx.sb.env.PATH, ID: ctx.sb.age.identity, F: object },
    }).trim().split('\n');
    expect(members[0]).toBe('toc.dat');
    expect(members.filter((m) => /^\d+\.dat\.gz$/.test(m)).length).toBeGreaterThanOrEqual(2);

    for (const jobs of [1, 2]) {
      await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
      const work = `${ctx.sb.workDir}/restore-${jobs}`;
      const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: work, jobs });
      expect(run.code, run.stderr).toBe(0);
      expect(stepFinished(run.events, 'decrypt')).toMatchObject({ status: 'succeeded', outputs: { format: 'directory', tables: 2 } });
      expect(stepFinished(run.events, jobs === 1 ? 'pg-restore' : 'swap')).toMatchObject({ status: 'succeeded' });
      expect(run.finished).toMatchObject({ status: 'succeeded', measures: { rows_restored: TRADES, backup_key: key } });
      expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
      // The unpacked folder and the download are gone.
      expect(readdirSync(work)).toEqual([]);
    }

    const verify = await drill(ctx, 'backup-verification', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/verify` });
    expect(verify.code, verify.stderr).toBe(0);
    expect(stepFinished(verify.events, 'decrypt')).toMatchObject({ outputs: { archive: `${ctx.sb.workDir}/verify/verify.d` } });
    expect(stepFinished(verify.events, 'counts')).toMatchObject({ outputs: { scratch: { 'public.trades': TRADES } } });
  }, 120_000);

  it('refuses parallel workers for the custom format before dumping anything', async () => {
    const ctx = box.ctx();
    const run = await runRunbook('full-backup', {
      stateDir: ctx.stateDir,
      env: ctx.sb.env,
      params: { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/backups`, jobs: 2 },
      extra: ['--json', '--yes'],
    });
    expect(run.code).toBe(1);
    expect(stepFinished(run.events, 'format-jobs')).toMatchObject({ status: 'failed' });
    expect(run.events.some((e) => e.type === 'step.started' && e.step === 'pg-dump')).toBe(false);
  });
});
