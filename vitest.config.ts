import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // CI has 2 cores: two test files at a time, one libtorch thread each, never oversubscribed.
    maxWorkers: 2,
    env: { MOALIGN_NUM_THREADS: '1' },
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // the GC test frees tensors by collecting their JS handles
    execArgv: ['--expose-gc'],
  },
});
