import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'cli/**/*.test.ts', 'server/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    // One test file per core. Vitest's default for a run leaves one core free (cores − 1), which on the
    // 2-core CI machine runs the files one at a time, a core idle while a test waits on timers, PGlite or
    // the file system (the measured gain: the commit that set this).
    maxWorkers: availableParallelism(),
    // Worker threads, not child processes (Vitest's default, 'forks'): the same 154 files, the same failures and
    // passes, in less wall time on the 2-core machine (module loading and messages in one process). Two A/B pairs
    // on the whole unit suite, in both orders (docs/benchmarks.md, "CI time (stop 38)" and "Stop 39: CI time").
    pool: 'threads',
  },
});
