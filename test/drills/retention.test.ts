/**
 * Retention drilled against a real S3 server: a year of dated backups (put in shuffled order, so
 * S3's last-modified is useless), the 7/4/12 policy worked out by hand in demo-retention.ts, and
 * runbooks/backup-retention.yaml must delete exactly the rest (with their manifests).
 */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { fixtureDumpKeys, fixtureManifestKeys, putDatedBackups, RETENTION_FIXTURE } from '../../examples/sandbox/demo-retention.js';
import type { Sandbox } from '../../examples/sandbox/sandbox.js';
import { s3ClientConfig } from '../../examples/sandbox/services/s3.js';
import { drill, drillUnavailableReason, expectRtoMet, useSandbox } from './sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;

async function listKeys(sb: Sandbox): Promise<string[]> {
  const client = new S3Client(s3ClientConfig(sb.s3));
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: sb.bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
  } finally {
    client.destroy();
  }
  return keys.sort();
}

describe.skipIf(skip)('drill: backup retention (7 daily, 4 weekly, 12 monthly)', () => {
  const box = useSandbox({ trades: 10 });

  it('dry run lists the sets and deletes nothing; the real run deletes exactly the expired keys', async () => {
    const ctx = box.ctx();
    const total = await putDatedBackups(ctx.sb);
    const all = await listKeys(ctx.sb);
    expect(all).toHaveLength(total);
    const keep = RETENTION_FIXTURE.keep;
    expect(keep).toHaveLength(20);
    const stampOf = (k: string) => /\d{8}T\d{6}Z/.exec(k)![0];
    const keptStamps = new Set(keep.map(stampOf));
    const expectedDeleted = [
      ...fixtureDumpKeys().filter((k) => !keep.includes(k)),
      ...fixtureManifestKeys().filter((k) => !keptStamps.has(stampOf(k))),
    ].sort();
    expect(expectedDeleted).toHaveLength(366 + 12);

    const dry = await drill(ctx, 'backup-retention', { bucket: ctx.sb.bucket });
    expect(dry.code, dry.stdout.slice(-2000)).toBe(0);
    const planned = dry.events.find((e) => e.type === 'step.finished' && e.step === 'compute')!.outputs as Record<string, string[]>;
    expect([...planned.keep].sort()).toEqual([...keep].sort());
    expect([...planned.delete].sort()).toEqual(expectedDeleted);
    expect(planned.undated).toEqual([RETENTION_FIXTURE.undated]);
    expect(dry.events.find((e) => e.type === 'step.finished' && e.step === 'delete')).toMatchObject({ status: 'skipped' });
    expect(await listKeys(ctx.sb)).toEqual(all);

    const run = await drill(ctx, 'backup-retention', { bucket: ctx.sb.bucket, dry_run: false });
    expect(run.code, run.stdout.slice(-2000)).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { kept: 20, expired: expectedDeleted.length } });
    const left = await listKeys(ctx.sb);
    expect(left).toEqual(all.filter((k) => !expectedDeleted.includes(k)));
    expect(left).toContain(RETENTION_FIXTURE.undated);
    await expectRtoMet(ctx, run, 10 * 60_000);
  });
});
