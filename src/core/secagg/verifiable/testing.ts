/**
 * Both aggregators' steps, run in one process for the verifiable mode's tests (prio.test.ts, pine.test.ts):
 * what the two services do over HTTP, without the services.
 */
import {
  aggregateOutputShares,
  combineAggregates,
  makeVdaf,
  prepareFinish,
  prepareInit,
  prepareMessage,
  VerifyRejected,
  type Report,
  type VerifiableParams,
  type VerifiableVdaf,
} from './prio';
import { Prio3Pine } from './pine';
import type { PineCircuit } from './pine-circuit';

/** A fresh verification key shared by the two aggregators. */
export function verifyKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(16));
}

/** Both aggregators' steps on one report: the two output shares, or VerifyRejected. */
export async function verifyBoth(vdaf: VerifiableVdaf, key: Uint8Array, report: Report): Promise<[bigint[], bigint[]]> {
  const leader = await prepareInit(vdaf, key, 0, report.leader);
  const helper = await prepareInit(vdaf, key, 1, report.helper);
  const message = await prepareMessage(vdaf, leader.prepareShare, helper.prepareShare);
  return [prepareFinish(vdaf, leader.state, message), prepareFinish(vdaf, helper.state, message)];
}

/** A round: every report verified (a rejection must be VerifyRejected), the rejected ones dropped, the accepted ones summed. */
export async function verifyRound(
  p: VerifiableParams,
  vdaf: VerifiableVdaf,
  reports: readonly Report[],
): Promise<{ sum: Float64Array; accepted: number; rejected: number[] }> {
  const key = verifyKey();
  const leaderOut: bigint[][] = [];
  const helperOut: bigint[][] = [];
  const rejected: number[] = [];
  for (const [i, report] of reports.entries()) {
    try {
      const [a, b] = await verifyBoth(vdaf, key, report);
      leaderOut.push(a);
      helperOut.push(b);
    } catch (error) {
      if (!(error instanceof VerifyRejected)) throw error;
      rejected.push(i);
    }
  }
  const sum = combineAggregates(p, vdaf, aggregateOutputShares(vdaf, leaderOut), aggregateOutputShares(vdaf, helperOut), leaderOut.length);
  return { sum, accepted: leaderOut.length, rejected };
}

/** An attacker's own copy of the VDAF whose encoder returns `encoded`: the proof is computed honestly over it. */
export function forgedVdaf(p: VerifiableParams, encoded: bigint[]): VerifiableVdaf {
  const vdaf = makeVdaf(p);
  (vdaf.flp as { encode: (m: number[]) => bigint[] }).encode = () => encoded;
  return vdaf;
}

/**
 * A tampering device's copy of the PINE VDAF (pine.ts): `prefix` replaces the field elements of y (any values, e.g.
 * near q/2), and `checks` the slack bits and check results, chosen once the wraparound seed is known (the honest
 * encoder's by default). The shares, seeds and proof are then computed honestly over that encoding.
 */
export function forgedPine(
  p: VerifiableParams,
  forgery: { prefix?: bigint[]; checks?: (prefix: readonly bigint[], seed: Uint8Array, circuit: PineCircuit) => bigint[] },
): Prio3Pine {
  const vdaf = makeVdaf(p);
  if (!(vdaf instanceof Prio3Pine)) throw new Error('forgedPine needs a normBound');
  if (forgery.prefix) {
    const prefix = forgery.prefix;
    vdaf.circuit.encodePrefix = () => prefix;
  }
  const checks = forgery.checks;
  if (checks) vdaf.encodeChecks = (prefix, seed) => checks(prefix, seed, vdaf.circuit);
  return vdaf;
}
