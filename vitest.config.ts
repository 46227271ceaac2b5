import { defineConfig } from 'vitest/config';

// Tests start real PostgreSQL clusters, S3 servers and a Podman service: generous timeouts, and
// at most two files at once on these two-core machines.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
