/**
 * The guide's RPO measured the way it defines it: committed data lost when the primary is lost.
 * A writer commits a numbered row every 50 ms and logs when each commit was acknowledged; WAL
 * streams continuously (pg_receivewal, synchronous) into the backup area besides the archive; the
 * primary is destroyed (kill -9, data directory removed); runbooks/primary-loss.yaml builds a new
 * server from the base backup plus every streamed WAL record. RPO = last acknowledged commit − last
 * recovered commit. The same loss replayed from the archive alone is the comparison.
 */
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort, prepare } from '../../examples/sandbox/demo-scenarios.js';
import { losePrimaryUnderLoad } from '../../examples/sandbox/demo-primary-loss.js';
import { drill, drillUnavailableReason, useSandbox } from './sandbox-drill.js';
import { stopRecovered } from './pitr-helpers.js';

const skip = drillUnavailableReason() !== undefined;
const SEEDED = 500;

describe.skipIf(skip)('drill: the primary is lost; RPO from streamed WAL', () => {
  const box = useSandbox({ trades: SEEDED, walStream: 'sync' });

  it('loses no acknowledged commit with synchronous streaming (RPO ≤ 1 s); the archive alone loses them all', async () => {
    const ctx = box.ctx();
    const sb = ctx.sb;
    const common = { bucket: sb.bucket, archive_dir: sb.walArchive!, os_user: sb.osUser ?? '' };
    await prepare(ctx, 'pitr-setup', { ...common, base_dir: join(sb.workDir, 'base') });
    // A writer at 20 commits/s, then the primary is destroyed under it: kill -9, data directory gone.
    const log = join(sb.workDir, 'acks.log');
    const acked = await losePrimaryUnderLoad(sb, log);
    expect(acked).toBeGreaterThan(20);

    const results: Record<string, { rpo: number; lost: number; trades: number }> = {};
    for (const source of ['stream', 'archive'] as const) {
      const restoreDir = join(sb.workDir, `recovered-${source}`);
      const port = await freePort();
      try {
        const run = await drill(ctx, 'primary-loss', {
          ...common,
          stream_dir: sb.walStreamDir!,
          wal_source: source,
          restore_dir: restoreDir,
          port,
          ack_log: log,
        });
        expect(run.code, run.stdout.slice(-3000)).toBe(0);
        const m = run.finished!.measures as { rpo: number; lost_commits: number; trades_recovered: number; wal_source: string };
        expect(m.wal_source).toBe(source);
        results[source] = { rpo: m.rpo, lost: m.lost_commits, trades: m.trades_recovered };
        // The runbook's count of lost commits is the writer's log against the new server itself.
        const client = new pg.Client({ host: '127.0.0.1', port, user: sb.pg.user, password: sb.pg.password, database: sb.pg.database });
        await client.connect();
        try {
          // (From the archive alone even the probe table may be lost: it was made after the last full segment.)
          const has = (await client.query(`SELECT to_regclass('rpo_probe') IS NOT NULL AS has`)).rows[0].has as boolean;
          const { rows } = has ? await client.query('SELECT coalesce(max(n), 0)::int AS last, count(*)::int AS rows FROM rpo_probe') : { rows: [{ last: 0, rows: 0 }] };
          expect(rows[0]).toEqual({ last: acked - m.lost_commits, rows: acked - m.lost_commits });
        } finally {
          await client.end();
        }
      } finally {
        stopRecovered(restoreDir, sb.osUser);
      }
    }
    console.log(`primary loss after ${acked} acknowledged commits at 20/s: streaming RPO ${results.stream.rpo} ms (${results.stream.lost} lost); archive only RPO ${results.archive.rpo} ms (${results.archive.lost} lost)`);
    // Synchronous streaming: an acknowledged commit is on the backup area before it is acknowledged.
    expect(results.stream.rpo).toBeLessThanOrEqual(1000);
    expect(results.stream.lost).toBeLessThanOrEqual(20);
    expect(results.stream.trades).toBe(SEEDED);
    // The archive alone only has segments that were full or switched: everything since is lost.
    expect(results.archive.lost).toBeGreaterThan(results.stream.lost);
  }, 180_000);
});
