/**
 * What a device's consistency check costs at a cohort size: n devices sign the same survivor lists, then
 * `checkConsistency` runs with the default sample (CONSISTENCY_SAMPLE random signatures verified) and with every
 * signature verified, as devices did before the sample. Prints ms per check.
 *
 *   npx tsx cli/secure-agg/consistency-cost.ts [n=943] [repeats=10]
 */
import { checkConsistency, CONSISTENCY_SAMPLE, SurvivorSigner } from '../../src/core/secagg/consistency';
import { defaultThreshold } from '../../src/core/secagg/params';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 943);
  const repeats = Number(process.argv[3] ?? 10);
  const threshold = defaultThreshold(n);
  const everyone = Array.from({ length: n }, (_, i) => i);
  const signers = everyone.map(() => SurvivorSigner.create());
  const signingKeys = new Map(signers.map((s, i) => [i, s.publicKey] as const));
  const signatures = everyone.map((i) => signers[i]!.sign(i, 'cost', everyone, []));
  for (const sample of [CONSISTENCY_SAMPLE, Infinity]) {
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      checkConsistency({ roundId: 'cost', threshold, survivors: everyone, dropped: [], signingKeys, signatures, signer: signers[r % n]!, sample });
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const label = sample === Infinity ? `all ${n}` : `sample of ${sample}`;
    console.log(`n = ${n}, ${label}: median ${times[times.length >> 1]!.toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms per check (${repeats} checks)`);
  }
}

void main();
