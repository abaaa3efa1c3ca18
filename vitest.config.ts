import { defineConfig } from 'vitest/config';

// Workspace packages export TypeScript source under the "source" condition, so tests never need a build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    include: ['*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    // One test file at a time: many files start Xvfb, x11vnc, Chromium or containers on free ports, and on a
    // 2-core machine two such files at once raced for ports and CPU.
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
