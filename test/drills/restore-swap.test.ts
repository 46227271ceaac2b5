/**
 * The parallel restore of runbooks/database-corruption.yaml (`jobs` > 1): pg_restore -j into a fresh
 * database, verified there, then swapped in by name in one short step. A reader polling the live
 * database all along sees the old database or the complete new one, never an empty or half-restored
 * one; a failed verification leaves the old database in place and drops the fresh one.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { countTrades, takeBackup } from '../../examples/sandbox/demo-scenarios.js';
import { seedFingerprint } from '../../examples/sandbox/trading-service.js';
import { drill, drillUnavailableReason, useSandbox } from './sandbox-drill.js';
import type { Sandbox } from '../../examples/sandbox/sandbox.js';

const skip = drillUnavailableReason() !== undefined;
const TRADES = 40_000;
const KEPT = 123;

/** Polls `SELECT count(*) FROM trades` on a new connection each time until stopped. */
function startReader(sb: Sandbox): { stop(): Promise<{ counts: number[]; errors: string[] }> } {
  const counts: number[] = [];
  const errors: string[] = [];
  let running = true;
  const record = (e: unknown): void => {
    const { code, detail } = e as { code?: string; detail?: string };
    errors.push(`${code ?? '?'} ${(e as Error).message}${detail ? ` (${detail})` : ''}`);
  };
  const loop = (async () => {
    while (running) {
      const client = new pg.Client({ connectionString: sb.databaseUrl, connectionTimeoutMillis: 2000 });
      // The swap ends every session; one ended between its query and end() is reported as an event
      // on the client, not as a rejection: record it like the others (unheard, it is uncaught).
      client.on('error', (e) => record(e));
      try {
        await client.connect();
        const r = await client.query('SELECT count(*)::int AS n FROM trades');
        counts.push(r.rows[0].n);
      } catch (e) {
        record(e);
      } finally {
        await client.end().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { counts, errors };
    },
  };
}

describe.skipIf(skip)('drill: parallel restore into a fresh database, then an atomic swap', () => {
  const box = useSandbox({ trades: TRADES });

  it('a reader sees the old database or the complete new one, never a half-restored one', async () => {
    const ctx = box.ctx();
    await takeBackup(ctx);
    await ctx.sb.pg.psql(`DELETE FROM trades WHERE id > ${KEPT}`);
    const reader = startReader(ctx.sb);
    const run = await drill(ctx, 'database-corruption', { bucket: ctx.sb.bucket, work_dir: `${ctx.sb.workDir}/restore`, force: true, jobs: 2 });
    // Keep reading a little after the run, so the new database is surely seen.
    await new Promise((r) => setTimeout(r, 200));
    const { counts, errors } = await reader.stop();
    expect(run.code, run.stderr).toBe(0);
    expect(run.events.find((e) => e.type === 'step.finished' && e.step === 'pg-restore')).toMatchObject({ status: 'skipped' });
    expect(run.events.find((e) => e.type === 'step.finished' && e.step === 'swap')).toMatchObject({ status: 'succeeded' });
    expect(await countTrades(ctx.sb)).toEqual(seedFingerprint(TRADES));
    // Every successful read saw one of the two whole databases.
    expect(counts.length).toBeGreaterThan(20);
    expect(new Set(counts)).toEqual(new Set([KEPT, TRADES]));
    expect(counts.at(-1)).toBe(TRADES);
    // Once the new database was seen, the old one never came back.
    expect(counts.slice(counts.indexOf(TRADES)).every((n) => n === TRADES)).toBe(true);
    // The only errors: sessions ended by the swap, or refused for its few milliseconds (connections
    // off; or a connection that looked the name up just before the rename committed, which the
    // server then refuses) — never a missing table, an empty or a partial database.
    for (const e of errors) expect(e).toMatch(/^(57P01|55000|57P03) |^3D000 .*\(It seems to have just been dropped or renamed\.\)$/);
    const dbs = await ctx.sb.pg.psql("SELECT string_agg(datname || ':' || datallowconn, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'");
    expect(dbs.trim()).toMatch(/^app:true,app_before_\d{14}:false$/);
  });

  it('a failed verification leaves the old database in place and drops the fresh one', async () => {
    const ctx = box.ctx();
    // The previous test's swap left the database before it aside: the live one is whole again.
    await ctx.sb.pg.psql("SELECT 1 FROM pg_database WHERE datname LIKE 'app_before_%'");
    for (const name of (await ctx.sb.pg.psql("SELECT string_agg(datname, ' ') FROM pg_database WHERE datname LIKE 'app_before_%'")).trim().split(' ').filter(Boolean)) {
      await ctx.sb.pg.psql(`DROP DATABASE "${name}"`);
    }
    await takeBackup(ctx);
    await ctx.sb.pg.psql(`DELETE FROM trades WHERE id > ${KEPT}`);
    const run = await drill(ctx, 'database-corruption', {
      bucket: ctx.sb.bucket,
      work_dir: `${ctx.sb.workDir}/restore`,
      force: true,
      jobs: 2,
      min_trades: TRADES + 1,
    });
    expect(run.code).toBe(1);
    expect(run.finished).toMatchObject({ status: 'rolled_back' });
    const verify = run.events.find((e) => e.type === 'step.finished' && e.step === 'verify-fresh');
    expect(verify).toMatchObject({ status: 'failed' });
    expect(String(verify!.error)).toContain('expect failed: result.json.trades >= params.min_trades');
    expect(run.events.some((e) => e.type === 'step.started' && e.step === 'swap')).toBe(false);
    expect(run.events.filter((e) => e.type === 'rollback.finished').map((e) => [e.step, e.status])).toEqual([
      ['fresh-db', 'succeeded'],
      ['maintenance-on', 'succeeded'],
    ]);
    expect((await countTrades(ctx.sb))?.trades).toBe(KEPT);
    const dbs = await ctx.sb.pg.psql("SELECT string_agg(datname || ':' || datallowconn, ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'app%'");
    expect(dbs.trim()).toBe('app:true');
  });
});
