/**
 * A real PostgreSQL for tests. Missing binaries are a failure in CI and a printed skip elsewhere;
 * any other start failure is always a failure.
 */
import { afterAll, beforeAll } from 'vitest';
import { PostgresUnavailableError, findBinDir, startPostgres, type PgServer, type StartPostgresOptions } from '../../examples/sandbox/services/postgres.js';

export type { PgServer } from '../../examples/sandbox/services/postgres.js';

/** Why PostgreSQL tests cannot run here, or undefined when they can. Throws in CI. */
export function postgresUnavailableReason(): string | undefined {
  try {
    findBinDir();
    return undefined;
  } catch (err) {
    if (!(err instanceof PostgresUnavailableError)) throw err;
    if (process.env.CI === 'true') throw err;
    console.warn(`skipping PostgreSQL tests: ${err.message}`);
    return err.message;
  }
}

/** Start a throwaway cluster (fsync off unless asked), or undefined when binaries are missing outside CI. */
export async function usePostgres(opts: StartPostgresOptions = {}): Promise<PgServer | undefined> {
  try {
    return await startPostgres({ fsync: false, ...opts });
  } catch (err) {
    if (!(err instanceof PostgresUnavailableError) || process.env.CI === 'true') throw err;
    console.warn(`skipping PostgreSQL tests: ${err.message}`);
    return undefined;
  }
}

/**
 * One cluster for a describe block: started in beforeAll, stopped in afterAll.
 * Use with `describe.skipIf(postgresUnavailableReason() !== undefined)`; `get()` inside tests.
 */
export function usePostgresForSuite(opts: StartPostgresOptions = {}): { get(): PgServer } {
  let server: PgServer | undefined;
  beforeAll(async () => {
    server = await startPostgres({ fsync: false, ...opts });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  }, 30_000);
  return {
    get() {
      if (!server) throw new Error('PostgreSQL not started (usePostgresForSuite must be called inside the describe block)');
      return server;
    },
  };
}
