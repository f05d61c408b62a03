/**
 * `npm run bench -- aggregator [options]`: the aggregation service's round benchmark (server/bench.ts);
 * with `--browser`, one device's compute and traffic in headless Chromium (cli/secure-agg/browser-device.ts);
 * with `--verifiable`, a collection of the verifiable mode's two services (cli/secure-agg/verifiable-round.ts).
 */
export {};
const browser = process.argv.indexOf('--browser');
if (browser >= 0) {
  process.argv.splice(browser, 1);
  await import('./secure-agg/browser-device');
} else if (process.argv.includes('--verifiable')) {
  await import('./secure-agg/verifiable-round');
} else {
  await import('../server/bench');
}
