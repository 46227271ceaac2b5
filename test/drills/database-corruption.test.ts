/**
 * Scenario 1 drilled for real: a backup by runbooks/full-backup.yaml, DROP TABLE trades, then
 * runbooks/database-corruption.yaml through the CLI restores every row within the RTO. And the
 * failure path: a damaged backup is refused (sha256) and the containment is rolled back.
 */
import { describe, expect, it } from 'vitest';
import { countTrades, corruptObject, takeBackup } from '../../examples/sandbox/demo-scenarios.js';
import { seedFingerprint } from '../../examples/sandbox/trading-service.js';
import { drill, drillUnavailableReason, expectRtoMet, report, useSandbox } from './sandbox-drill.js';

const skip = drillUnavailableReason() !== undefined;
const TRADES = 2000;
const RTO_MS = 5 * 60_000;

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe.skipIf(skip)('drill: database corruption (scenario 1)', () => {
  const box = useSandbox({ trades: TRADES });

  it('restores the dropped trades table with every row, within the RTO', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    expect(key).toMatch(/^postgresql\/full\/\d{8}T\d{6}Z\.dump\.age$/);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    expect(await countTrades(ctx.sb)).toBeUndefined();
    expect(await getJson(`${ctx.sb.app.url}/actuator/health`)).toMatchObject({ status: 503, body: { status: 'DOWN' } });

    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded', measures: { rows_restored: TRADES } });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
    expect(await getJson(`${ctx.sb.app.url}/actuator/health`)).toMatchObject({ status: 200, body: { status: 'UP' } });
    expect((await getJson(`${ctx.sb.app.url}/admin/maintenance`)).body).toEqual({ maintenance: false });
    // RPO: the backup's age at the incident, a few seconds here.
    const rpo = run.finished!.measures!.rpo as number;
    expect(rpo).toBeGreaterThanOrEqual(0);
    expect(rpo).toBeLessThan(60_000);
    await expectRtoMet(ctx, run, RTO_MS);
    const md = await report(ctx, run.runId!);
    expect(md).toContain('Stakeholders notified');
    expect(md).toMatch(/^\| RPO \| ✅ /m);
  });
});

describe.skipIf(skip)('drill: a damaged backup is refused and the containment rolled back', () => {
  const box = useSandbox({ trades: 300 });

  it('sha256 mismatch in both regions → downloads fail → maintenance off again, rolled_back, exit 1', async () => {
    const ctx = box.ctx();
    const key = await takeBackup(ctx);
    await corruptObject(ctx.sb, key);
    await corruptObject(ctx.sb, key, 'dr');
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');

    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code).toBe(1);
    expect(run.finished).toMatchObject({ status: 'rolled_back', rto_met: false });
    for (const step of ['download', 'download-dr']) {
      const download = run.events.find((e) => e.type === 'step.finished' && e.step === step);
      expect(download).toMatchObject({ status: 'failed' });
      expect(String(download!.error)).toContain('sha256 mismatch');
    }
    // pg_restore never ran; the rollback of maintenance-on did, and succeeded.
    expect(run.events.some((e) => e.type === 'step.started' && e.step === 'pg-restore')).toBe(false);
    expect(run.events.filter((e) => e.type === 'rollback.finished')).toEqual([
      expect.objectContaining({ step: 'maintenance-on', status: 'succeeded' }),
    ]);
    expect((await getJson(`${ctx.sb.app.url}/admin/maintenance`)).body).toEqual({ maintenance: false });
    expect(await countTrades(ctx.sb)).toBeUndefined();
    const md = await report(ctx, run.runId!);
    expect(md).toMatch(/^\| RTO \| ❌ /m);
    expect(md).toContain('maintenance-on');
  });
});

describe.skipIf(skip)('drill: database corruption at scale (1,000,000 trades)', () => {
  const ROWS = 1_000_000;
  const box = useSandbox({ trades: ROWS });

  it('restores every one of a million rows, checksums equal, within the RTO', async () => {
    const ctx = box.ctx();
    await takeBackup(ctx);
    await ctx.sb.pg.psql('DROP TABLE trades CASCADE');
    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore` });
    expect(run.code, run.stderr).toBe(0);
    expect(run.finished).toMatchObject({ status: 'succeeded', rto_met: true, measures: { rows_restored: ROWS } });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(ROWS));
  }, 240_000);
});
