/** `npm run bench -- aggregator [options]`: the aggregation service's round benchmark (server/bench.ts). */
export {};
await import('../server/bench');
