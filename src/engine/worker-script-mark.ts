/**
 * Imported first by worker.ts, so it runs before the other modules' top-level code: when the engine worker's
 * script began to run. With the worker's time origin and `engine:start` it splits a visit's start into the
 * script's arrival, its evaluation and the engine's own steps (e2e/scale-columns.spec.ts prints the marks).
 */
performance.mark('engine:script');
