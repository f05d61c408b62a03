/**
 * `npx tsx cli/secure-agg/verifiable-cost-init.ts [--length 346384] [--field field64|field128] [--reps 5]`: each
 * aggregator's per-report verification of the verifiable mode's norm check (PINE), repeated on one report in one
 * process: `prepareInit` (leader, then helper), the leader's decision (`prepareMessage`) and both
 * `prepareFinishEncoded`, `--reps` times, so that a profile (`node --cpu-prof`) or a before/after comparison sees the
 * steady state rather than one cold call (verifiable-cost.ts times a single call in a fresh process). Prints every
 * rep, the medians and the load; checks that the combined sum equals the device's vector.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { encodedLength } from '../../src/core/secagg/encode';
import { verifiableParams, type VerifiableSettings } from '../../src/core/secagg/verifiable/encode';
import {
  buildReport,
  combineAggregates,
  makeVdaf,
  outputShareSum,
  prepareFinishEncoded,
  prepareInit,
  prepareMessage,
} from '../../src/core/secagg/verifiable/prio';

const { values: args } = parseArgs({
  options: {
    length: { type: 'string', default: '346384' },
    field: { type: 'string', default: 'field64' },
    reps: { type: 'string', default: '5' },
  },
  strict: true,
});
const LENGTH = Number(args.length);
const REPS = Number(args.reps);
if (args.field !== 'field128' && args.field !== 'field64') throw new Error('--field field128|field64');
const SETTINGS: VerifiableSettings = {
  // verifiable-cost.ts's settings (the bench's ε = 8)
  noise: { clipNorm: 0.5, noiseMultiplier: 1.426, expectedCohort: 943, dropoutTolerance: 1 / 3, bits: 32 },
  bits: 10,
  placement: 'aggregators',
  normCheck: true,
  field: args.field,
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const padded = encodedLength(LENGTH);
  const params = verifiableParams(SETTINGS, LENGTH);
  const vdaf = makeVdaf(params);
  const x = Int32Array.from({ length: padded }, (_, i) => (i % 7) - 3);
  const report = await buildReport(params, x, vdaf);
  const key = crypto.getRandomValues(new Uint8Array(16));
  const times = { leader: [] as number[], helper: [] as number[], decide: [] as number[], finish: [] as number[] };
  let exact = true;
  for (let rep = 0; rep < REPS; rep++) {
    const t0 = performance.now();
    const leader = await prepareInit(vdaf, key, 0, report.leader);
    const t1 = performance.now();
    const helper = await prepareInit(vdaf, key, 1, report.helper);
    const t2 = performance.now();
    const message = await prepareMessage(vdaf, leader.prepareShare, helper.prepareShare);
    const t3 = performance.now();
    const leaderOut = prepareFinishEncoded(vdaf, leader.state, message);
    const helperOut = prepareFinishEncoded(vdaf, helper.state, message);
    const t4 = performance.now();
    const sums = [leaderOut, helperOut].map((share) => {
      const sum = outputShareSum(vdaf, padded);
      sum.add(share);
      return sum.finish();
    });
    const sum = combineAggregates(params, vdaf, sums[0]!, sums[1]!, 1);
    exact &&= sum.every((v, i) => v === x[i]);
    times.leader.push(t1 - t0);
    times.helper.push(t2 - t1);
    times.decide.push(t3 - t2);
    times.finish.push(t4 - t3);
    console.log(
      `rep ${rep}: leader prepareInit ${(t1 - t0).toFixed(1)} ms, helper ${(t2 - t1).toFixed(1)} ms, decision ${(t3 - t2).toFixed(1)} ms, both finish ${(t4 - t3).toFixed(1)} ms`,
    );
  }
  console.log(
    `${args.field}, ${padded} entries: median of ${REPS}: leader prepareInit ${median(times.leader).toFixed(1)} ms, helper ${median(times.helper).toFixed(1)} ms, decision ${median(times.decide).toFixed(1)} ms, finish ${median(times.finish).toFixed(1)} ms; sum exact: ${exact}; load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)} (2 cores)`,
  );
  if (!exact) process.exitCode = 1;
}

await main();
