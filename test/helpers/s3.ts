/**
 * A real S3 endpoint (s3rver, in-process) for a test file. Call at the top level of the file:
 *
 *   const s3 = await useS3({ buckets: ['backups'] });
 *   describe.skipIf(s3.skip)('…', () => { … s3.server.endpoint … });
 *
 * When `CI === 'true'` an unavailable S3 server fails the file; otherwise the tests skip with a printed reason.
 */
import { afterAll, beforeAll } from 'vitest';
import { startS3, type S3Server } from '../../examples/sandbox/services/s3.js';

export interface S3Fixture {
  skip: boolean;
  /** The running server (inside tests and hooks). */
  readonly server: S3Server;
}

export async function useS3(opts: { buckets?: string[] } = {}): Promise<S3Fixture> {
  // Probe once at collection time so `skipIf` knows before the hooks run.
  let reason: string | undefined;
  try {
    const probe = await startS3();
    await probe.stop();
  } catch (err) {
    reason = `s3rver cannot start: ${(err as Error).message}`;
  }
  if (reason !== undefined) {
    if (process.env.CI === 'true') throw new Error(`S3 server required in CI: ${reason}`);
    console.warn(`skipping S3 tests: ${reason}`);
    return {
      skip: true,
      get server(): S3Server {
        throw new Error('S3 server not available');
      },
    };
  }
  let server: S3Server | undefined;
  beforeAll(async () => {
    server = await startS3({ buckets: opts.buckets });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    skip: false,
    get server(): S3Server {
      if (!server) throw new Error('useS3(): the server starts in beforeAll');
      return server;
    },
  };
}
