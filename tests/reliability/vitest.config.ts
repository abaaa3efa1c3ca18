import { defineConfig } from 'vitest/config';

// The reliability suite runs apart from `npm test`: its files are *.rel.ts, one at a time (they share the machine's
// two cores with real containers, and the load and memory numbers must not be skewed by each other).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'], externalConditions: ['source'] } },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/reliability/**/*.rel.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 420_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
