import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL clusters, S3 servers, Podman and the CLI as processes: generous
// timeouts, and one test file at a time. On these two-core machines two files at once took the
// same wall time (168 s vs 183 s) and starved Podman's container start-up and healthchecks into
// timeouts; one at a time every file gets the machine.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default'],
    // Tests that use the AWS SDK themselves (the sandbox, helpers) would print its Node-22 notice into
    // the log; the CLI and the demo silence it the same way (their tests check their stderr).
    setupFiles: ['src/util/quiet-sdk-warning.ts'],
    // At the end, the cgroup folders of the runs the suite killed (test/global-setup.ts).
    globalSetup: ['test/global-setup.ts'],
  },
});
