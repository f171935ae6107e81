import { defineConfig } from 'vitest/config';

// One test run for the whole monorepo: colocated unit tests (`*.test.ts`), integration tests against the
// machine's real Redis and an embedded PGlite (`*.int.test.ts`), and cross-process scenarios (`test/e2e`).
// Integration and e2e files start real servers on port 0, so files can run side by side safely.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'tools/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
  },
});
