/**
 * Issue 11, item 3: a connection URL that interpolates a value holding `@`, `:` or `/` (a password
 * `p@ss:w/rd`, a role name with `@`) works, because each value is percent-encoded for its part of
 * the URL (spec §12). Through the real CLI against a real PostgreSQL with scram password auth, and
 * the password never appears in any output.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, journalOf, runCli } from '../helpers/cli.js';
import { postgresUnavailableReason, usePostgresForSuite } from '../helpers/postgres.js';

const PASSWORD = 'p@ss:w/rd?#%41&x';
const ROLE = 'ops@dr:team';

describe.skipIf(postgresUnavailableReason() !== undefined)('connection URLs with reserved characters in interpolated parts', () => {
  const server = usePostgresForSuite();
  let dir: string;

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'runbook-conn-url-'));
    const client = new pg.Client({ connectionString: server.get().url });
    await client.connect();
    await client.query(`CREATE ROLE "${ROLE}" LOGIN PASSWORD '${PASSWORD.replaceAll("'", "''")}'`);
    await client.end();
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs in with a password and a role name holding @ : / ? # %, interpolated into the url', async () => {
    const s = server.get();
    const file = join(dir, 'conn.yaml');
    writeFileSync(
      file,
      `runbook: conn-url
params:
  role: { type: string, default: "${ROLE}" }
secrets:
  pw: { env: DB_PASSWORD }
connections:
  db: { postgres: { url: "postgres://\${{ params.role }}:\${{ secrets.pw }}@127.0.0.1:${s.port}/${s.database}" } }
phases:
  - id: main
    steps:
      - id: who
        sql: { connection: db, query: "SELECT current_user AS who" }
        outputs: { who: "result.rows[0].who" }
`,
    );
    const stateDir = join(dir, 'state');
    const r = await runCli(['run', file, '--json', '--state-dir', stateDir], { env: { DB_PASSWORD: PASSWORD } });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const done = r.events.find((e) => e.type === 'step.finished' && e.step === 'who') as Record<string, any>;
    expect(done).toMatchObject({ status: 'succeeded', outputs: { who: ROLE } });
    const journal = readFileSync(journalOf(stateDir, r.events[0].run), 'utf8');
    for (const text of [r.stdout, r.stderr, journal]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encodeURIComponent(PASSWORD));
    }
  }, 60_000);

  it('a wrong password is refused: the password is really checked (scram), not ignored', async () => {
    const r = await runCli(['run', join(dir, 'conn.yaml'), '--json', '--state-dir', join(dir, 'state-wrong')], { env: { DB_PASSWORD: `${PASSWORD}-wrong` } });
    expect(r.code).toBe(1);
    const done = r.events.find((e) => e.type === 'step.finished' && e.step === 'who') as Record<string, any>;
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/password authentication failed/);
  }, 60_000);
});
