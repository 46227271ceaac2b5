/**
 * PITR drilled for real: WAL archiving + a base backup (runbooks/pitr-setup.yaml), two batches of
 * trades with a target time between them, then runbooks/pitr-restore.yaml brings up a separate
 * server recovered to that time: the first batch is there, the second is not, and the RPO is reported.
 */
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort, setupPitr } from '../../examples/sandbox/demo-scenarios.js';
import { drill, drillUnavailableReason, expectRtoMet, report, useSandbox } from './sandbox-drill.js';
import { stopRecovered } from './pitr-helpers.js';

const skip = drillUnavailableReason() !== undefined;
const SEEDED = 300;

describe.skipIf(skip)('drill: point-in-time recovery', () => {
  const box = useSandbox({ trades: SEEDED, pitr: true });

  it('recovers to a time between two batches: only the first batch is present', async () => {
    const ctx = box.ctx();
    const restoreDir = join(ctx.sb.workDir, 'pitr');
    const port = await freePort();
    const setup = await setupPitr(ctx, restoreDir, port);
    try {
      const run = await drill(ctx, 'pitr-restore', setup.params);
      expect(run.code, run.stdout.slice(-3000)).toBe(0);
      expect(run.finished).toMatchObject({ status: 'succeeded', measures: { trades_recovered: SEEDED + setup.firstBatch } });

      // Ask the recovered server itself (same roles and password as the source).
      const client = new pg.Client({ host: '127.0.0.1', port, user: ctx.sb.pg.user, password: ctx.sb.pg.password, database: ctx.sb.pg.database });
      await client.connect();
      try {
        const { rows } = await client.query(
          `SELECT count(*) FILTER (WHERE symbol = 'PITR')::int AS first, count(*) FILTER (WHERE symbol = 'LOST')::int AS second,
                  pg_is_in_recovery() AS in_recovery, pg_last_xact_replay_timestamp() <= $1::timestamptz AS before_target FROM trades`,
          [setup.target],
        );
        expect(rows[0]).toEqual({ first: setup.firstBatch, second: 0, in_recovery: false, before_target: true });
      } finally {
        await client.end();
      }
      // The source still has both batches: it was not touched.
      expect(await ctx.sb.pg.psql(`SELECT count(*) FROM trades`)).toBe(String(SEEDED + setup.firstBatch + setup.secondBatch));

      // RPO = target − last replayed commit: the 300 ms pause before the target, give or take.
      const rpo = run.finished!.measures!.rpo as number;
      expect(rpo).toBeGreaterThanOrEqual(0);
      expect(rpo).toBeLessThan(60_000);
      await expectRtoMet(ctx, run, 5 * 60_000);
      expect(await report(ctx, run.runId!)).toMatch(/^\| RPO \| ✅ /m);
    } finally {
      stopRecovered(restoreDir, ctx.sb.osUser);
    }
  });
});
