/**
 * Real sshd instances for a test file (examples/sandbox/services/sshd.ts). Call at the top level:
 *
 *   const sshd = await useSshd(5);
 *   describe.skipIf(sshd.skip)('…', () => { sshd.cluster.hosts[0].port … });
 *
 * With `CI=true` a missing sshd fails the file; otherwise the tests skip with a printed reason.
 * Every process started here is stopped by pid in afterAll.
 */
import { afterAll, beforeAll } from 'vitest';
import { sshdUnavailableReason, startSshd, stopSshd, type SshdCluster } from '../../examples/sandbox/services/sshd.js';

export * from '../../examples/sandbox/services/sshd.js';

export interface SshdFixture {
  skip: boolean;
  readonly cluster: SshdCluster;
}

export async function useSshd(count: number, opts: { maxSessions?: number } = {}): Promise<SshdFixture> {
  const reason = sshdUnavailableReason();
  if (reason !== undefined) {
    if (process.env.CI === 'true') throw new Error(`sshd required in CI: ${reason}`);
    console.warn(`skipping ssh tests: ${reason}`);
    return {
      skip: true,
      get cluster(): SshdCluster {
        throw new Error('sshd not available');
      },
    };
  }
  let cluster: SshdCluster | undefined;
  beforeAll(async () => {
    cluster = await startSshd(count, opts);
  }, 60_000);
  afterAll(async () => {
    if (cluster) await stopSshd(cluster);
  }, 30_000);
  return {
    skip: false,
    get cluster(): SshdCluster {
      if (!cluster) throw new Error('useSshd(): the servers start in beforeAll');
      return cluster;
    },
  };
}

