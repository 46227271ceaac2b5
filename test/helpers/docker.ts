/**
 * A real Docker Engine API (Podman's service, see examples/sandbox/services/docker.ts) for a test
 * file, with the busybox image imported. Call at the top level of the file:
 *
 *   const docker = await useDocker();
 *   describe.skipIf(docker.skip)('…', () => { … docker.api.host … });
 *
 * When `CI === 'true'` a missing podman/runc/busybox fails the file; otherwise the tests skip with
 * a printed reason.
 */
import { afterAll, beforeAll } from 'vitest';
import { findDockerUnavailableReason, startDockerApi, type DockerApi } from '../../examples/sandbox/services/docker.js';

export const BUSYBOX_IMAGE = 'runbook-busybox:latest';

export interface DockerFixture {
  skip: boolean;
  /** The running API (inside tests and hooks). */
  readonly api: DockerApi;
}

export async function useDocker(opts: { images?: Record<string, Record<string, string>>; socketOwner?: number } = {}): Promise<DockerFixture> {
  const reason = await findDockerUnavailableReason();
  if (reason !== undefined) {
    if (process.env.CI === 'true') throw new Error(`Docker API (podman) required in CI: ${reason}`);
    console.warn(`skipping Docker tests: ${reason}`);
    return {
      skip: true,
      get api(): DockerApi {
        throw new Error('Docker API not available');
      },
    };
  }
  let api: DockerApi | undefined;
  beforeAll(async () => {
    api = await startDockerApi({
      ...(opts.socketOwner !== undefined ? { socketOwner: opts.socketOwner } : {}),
      onUnavailable: (why) => {
        throw new Error(`Docker API unavailable: ${why}`);
      },
    });
    await api!.ensureImage(BUSYBOX_IMAGE);
    for (const [name, files] of Object.entries(opts.images ?? {})) await api!.ensureImage(name, files);
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
  }, 60_000);
  return {
    skip: false,
    get api(): DockerApi {
      if (!api) throw new Error('useDocker(): the API starts in beforeAll');
      return api;
    },
  };
}
