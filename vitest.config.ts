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
  },
});
