/**
 * The primary-loss scenario's failure, made real: a writer commits a numbered row into `rpo_probe`
 * every 50 ms and logs when each commit was acknowledged; then the primary is destroyed (kill -9 of
 * the postmaster, data directory removed). runbooks/primary-loss.yaml reads the log to measure the
 * RPO the way the DR guide defines it: committed data lost with the primary.
 */
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Sandbox } from './sandbox.js';

/** Commits row n = 1, 2, … every `everyMs`; after each acknowledged COMMIT appends "n <ms since epoch>" to `log`. */
export function startWriter(sb: Sandbox, log: string, everyMs = 50): { stop(): Promise<number> } {
  let running = true;
  let acked = 0;
  const loop = (async () => {
    const client = new pg.Client({ connectionString: sb.databaseUrl });
    client.on('error', () => {});
    await client.connect();
    try {
      for (let n = 1; running; n++) {
        const next = Date.now() + everyMs;
        await client.query('INSERT INTO rpo_probe (n) VALUES ($1)', [n]);
        appendFileSync(log, `${n} ${Date.now()}\n`);
        acked = n;
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
      }
    } catch {
      // the primary is gone
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return acked;
    },
  };
}

/** The probe table, a writer for `forMs`, then the primary destroyed under it. Returns the acknowledged count. */
export async function losePrimaryUnderLoad(sb: Sandbox, log: string, forMs = 2500): Promise<number> {
  await sb.pg.psql('CREATE TABLE rpo_probe (n int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
  const writer = startWriter(sb, log);
  await new Promise((r) => setTimeout(r, forMs));
  const pid = Number(readFileSync(join(sb.pg.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.kill(pid, 'SIGKILL');
  rmSync(sb.pg.dataDir, { recursive: true, force: true });
  return writer.stop();
}
