import { describe, expect, it } from 'vitest';
import { seededUniform } from '../../federated/random';
import { distributedEpsilon } from '../accountant';
import { clipToNorm, type DistributedNoiseSettings } from '../encode';
import { discreteGaussianSampler } from '../noise';
import {
  accountingSettings,
  aggregatorNoiseStddev,
  decodeVerifiableSum,
  encodeForVerifiable,
  verifiableBound,
  verifiableParams,
  verifiableScale,
  type VerifiableSettings,
} from './encode';
import {
  addAggregatorNoise,
  aggregateOutputShares,
  buildReport,
  combineAggregates,
  entryBound,
  makeVdaf,
  prepareFinish,
  prepareInit,
  prepareMessage,
  VerifyRejected,
  type Report,
} from './prio';
import { Prio3Pine } from './pine';
import { forgedPine } from './testing';

const NOISE: DistributedNoiseSettings = { clipNorm: 0.5, noiseMultiplier: 1.426, expectedCohort: 943, dropoutTolerance: 1 / 3, bits: 32 };
const SEED = new Uint8Array(32).fill(7);

function randomDelta(length: number, uniform: () => number, norm: number): Float32Array {
  const v = Float64Array.from({ length }, () => uniform() - 0.5);
  const scale = norm / l2(v); // exactly at the clip
  return Float32Array.from(
    clipToNorm(
      v.map((x) => x * scale),
      norm,
    ),
  );
}

function l2(a: ArrayLike<number>, b?: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - (b ? b[i]! : 0);
    s += d * d;
  }
  return Math.sqrt(s);
}

async function verifyAll(
  vdaf: ReturnType<typeof makeVdaf>,
  reports: Report[],
  noise?: [() => number, () => number],
): Promise<{ sum: Float64Array; rejected: number }> {
  const key = crypto.getRandomValues(new Uint8Array(16));
  const out: [bigint[][], bigint[][]] = [[], []];
  let rejected = 0;
  for (const r of reports) {
    try {
      const a = await prepareInit(vdaf, key, 0, r.leader);
      const b = await prepareInit(vdaf, key, 1, r.helper);
      const m = await prepareMessage(vdaf, a.prepareShare, b.prepareShare);
      out[0].push(prepareFinish(vdaf, a.state, m));
      out[1].push(prepareFinish(vdaf, b.state, m));
    } catch {
      rejected++;
    }
  }
  let leader = aggregateOutputShares(vdaf, out[0]);
  let helper = aggregateOutputShares(vdaf, out[1]);
  if (noise) {
    leader = addAggregatorNoise(vdaf, leader, noise[0]);
    helper = addAggregatorNoise(vdaf, helper, noise[1]);
  }
  const bits = vdaf instanceof Prio3Pine ? vdaf.offset.toString(2).length : vdaf.bits; // B = 2^(bits−1)
  return { sum: combineAggregates({ length: vdaf.length, bits }, vdaf, leader, helper, out[0].length), rejected };
}

async function rejectedByBoth(vdaf: ReturnType<typeof makeVdaf>, r: Report): Promise<boolean> {
  const key = crypto.getRandomValues(new Uint8Array(16));
  try {
    const a = await prepareInit(vdaf, key, 0, r.leader);
    const b = await prepareInit(vdaf, key, 1, r.helper);
    await prepareMessage(vdaf, a.prepareShare, b.prepareShare);
    return false;
  } catch (e) {
    return e instanceof VerifyRejected;
  }
}

describe('verifiable encoding: scale, clamp and the bound on a tampering device', () => {
  it('honest deltas fit the range (no entry clamped): dense, and concentrated in the smallest rotation block', () => {
    const uniform = seededUniform(3);
    for (const placement of ['device', 'aggregators'] as const) {
      const s: VerifiableSettings = { noise: NOISE, bits: 8, placement };
      const length = 5_000; // padded 5,120: blocks 4,096 + 1,024
      const dense = randomDelta(length, uniform, 0.5);
      const concentrated = new Float32Array(length);
      concentrated[length - 1] = 0.5; // all of the norm in the 1,024-block
      for (const delta of [dense, concentrated]) {
        const { values, clamped } = encodeForVerifiable(delta, s, SEED, uniform);
        expect(clamped).toBe(0);
        const b = entryBound(s.bits);
        for (const v of values) expect(v >= -b && v < b).toBe(true);
      }
    }
  });

  it('the bound: B·√d/γ_v, about the same for every bit width; smaller with the noise at the aggregators', () => {
    const length = 57_344;
    const device = (bits: number) => verifiableBound({ noise: NOISE, bits, placement: 'device' }, length);
    const aggregators = verifiableBound({ noise: NOISE, bits: 8, placement: 'aggregators' }, length);
    expect(device(8).timesClip).toBeGreaterThan(100);
    expect(device(8).timesClip / device(16).timesClip).toBeCloseTo(1, 1);
    expect(aggregators.timesClip).toBeLessThan(device(8).timesClip / 2);
    expect(aggregators.timesClip).toBeGreaterThan(1);
    // rounding inflates the honest bound at 8 bits (coarse γ_v), far less at 12
    expect(device(8).honestL2 / NOISE.clipNorm).toBeGreaterThan(1.05);
    expect(device(12).honestL2 / NOISE.clipNorm).toBeLessThan(1.001);
  });

  it('end to end: honest devices decode to the sum of their clipped deltas; a tampering device moves it by at most the stated bound', async () => {
    const uniform = seededUniform(11);
    const length = 60; // padded 64: one block
    const s: VerifiableSettings = { noise: { ...NOISE, noiseMultiplier: 0, expectedCohort: 4 }, bits: 10, placement: 'aggregators' };
    const params = { length: 64, bits: s.bits };
    const vdaf = makeVdaf(params);
    const deltas = [0, 1, 2].map(() => randomDelta(length, uniform, 0.5));
    const reports = await Promise.all(deltas.map((d) => buildReport(params, encodeForVerifiable(d, s, SEED, uniform).values, vdaf)));
    const honest = decodeVerifiableSum((await verifyAll(vdaf, reports)).sum, s, SEED, length);
    const truth = new Float64Array(length);
    for (const d of deltas) for (let i = 0; i < length; i++) truth[i]! += d[i]!;
    const gamma = verifiableScale(s, length);
    expect(l2(honest, truth)).toBeLessThan((3 * Math.sqrt(64)) / gamma); // rounding only: ≤ 1 per entry per device

    // the attacker sends the extreme accepted vector (every entry at ±B), built to push along one direction
    const b = entryBound(s.bits);
    const extreme = Array.from({ length: 64 }, (_, j) => (j % 3 ? b - 1 : -b));
    const attacked = decodeVerifiableSum((await verifyAll(vdaf, [...reports, await buildReport(params, extreme, vdaf)])).sum, s, SEED, length);
    const moved = l2(attacked, honest);
    const bound = verifiableBound(s, length);
    expect(moved).toBeLessThanOrEqual(bound.l2 + 1e-9);
    expect(moved).toBeGreaterThan(s.noise.clipNorm); // the bound is looser than C: the room the range leaves
    // …and an entry one past the range is refused by the honest client and, forged, by the aggregators (prio.test.ts)
    await expect(buildReport(params, [...extreme.slice(1), b], vdaf)).rejects.toThrow(RangeError);
  });

  it('aggregator noise: each adds N_Z(0, (γ_v·z·C)²) to its share; the sum keeps its mean and the variance of both', async () => {
    const s: VerifiableSettings = { noise: { ...NOISE, noiseMultiplier: 0.05 }, bits: 10, placement: 'aggregators' };
    const length = 64;
    const params = { length, bits: s.bits };
    const vdaf = makeVdaf(params);
    const x = Array.from({ length }, (_, j) => (j % 5) - 2);
    const report = await buildReport(params, x, vdaf);
    const sigma = aggregatorNoiseStddev(s, length);
    const uniform = seededUniform(5);
    const { sum } = await verifyAll(vdaf, [report], [discreteGaussianSampler(sigma, uniform), discreteGaussianSampler(sigma, uniform)]);
    const errors = Array.from(sum, (v, j) => v - x[j]!);
    const variance = errors.reduce((a, e) => a + e * e, 0) / length;
    expect(Math.abs(errors.reduce((a, e) => a + e, 0) / length)).toBeLessThan((4 * sigma * Math.SQRT2) / Math.sqrt(length));
    expect(variance).toBeGreaterThan(2 * sigma * sigma * 0.5);
    expect(variance).toBeLessThan(2 * sigma * sigma * 1.7);
  });

  it("the accountant on this mode: one aggregator's noise at γ_v gives the ε of a single discrete Gaussian of z", () => {
    const length = 57_344;
    const device = distributedEpsilon(accountingSettings({ noise: NOISE, bits: 12, placement: 'device' }, length), 5, 1e-5, length);
    const aggregators = distributedEpsilon(accountingSettings({ noise: NOISE, bits: 12, placement: 'aggregators' }, length), 5, 1e-5, length);
    // the masked mode at z = 1.426, 5 rounds, is ε = 8 (docs); both placements land close to it at 12 bits
    expect(device).toBeGreaterThan(7.5);
    expect(device).toBeLessThan(8.6);
    expect(aggregators).toBeGreaterThan(7.5);
    expect(aggregators).toBeLessThan(8.6);
  });

  it('with the norm check the bound is √N/γ_v ≤ Δ₂/γ_v: within 1 % of C at 10 bits for W, q, b and the app’s delta', () => {
    for (const length of [2_706, 57_344, 346_384]) {
      const s: VerifiableSettings = { noise: NOISE, bits: 10, placement: 'aggregators', normCheck: true };
      const bound = verifiableBound(s, length);
      expect(bound.timesClip).toBeGreaterThanOrEqual(1);
      expect(bound.timesClip).toBeLessThan(1.01);
      expect(bound.l2).toBeLessThanOrEqual(bound.honestL2);
      expect(bound.timesClip).toBeLessThan(verifiableBound({ ...s, normCheck: false }, length).timesClip / 10);
    }
    expect(() => verifiableParams({ noise: NOISE, bits: 10, placement: 'device', normCheck: true }, 64)).toThrow(RangeError);
  });

  it('end to end with the norm check: honest deltas at ‖δ‖ = C pass; a tampering device moves the sum by ≤ √N/γ_v ≈ C, the range-only extreme is dropped', async () => {
    const uniform = seededUniform(13);
    const length = 60; // padded 64: one block
    const s: VerifiableSettings = { noise: { ...NOISE, noiseMultiplier: 0, expectedCohort: 4 }, bits: 10, placement: 'aggregators', normCheck: true };
    const params = verifiableParams(s, length);
    const vdaf = makeVdaf(params);
    const concentrated = new Float32Array(length);
    concentrated[7] = -0.5;
    const deltas = [randomDelta(length, uniform, 0.5), randomDelta(length, uniform, 0.5), concentrated];
    const reports = await Promise.all(deltas.map((d) => buildReport(params, encodeForVerifiable(d, s, SEED, uniform).values, vdaf)));
    const { sum, rejected } = await verifyAll(vdaf, reports);
    expect(rejected).toBe(0);
    const honest = decodeVerifiableSum(sum, s, SEED, length);
    const truth = new Float64Array(length);
    for (const d of deltas) for (let i = 0; i < length; i++) truth[i]! += d[i]!;
    const gamma = verifiableScale(s, length);
    expect(l2(honest, truth)).toBeLessThan((3 * Math.sqrt(64)) / gamma);

    // the strongest accepted push: an integer vector of norm just under √N along one direction
    const n = params.normBound!;
    const direction = Array.from({ length: 64 }, (_, j) => ((j * 7) % 5) - 2);
    const scale = Math.sqrt(n) / l2(direction);
    const strongest = direction.map((v) => Math.trunc(v * scale));
    expect(strongest.reduce((a, v) => a + v * v, 0)).toBeLessThanOrEqual(n);
    const attacked = decodeVerifiableSum((await verifyAll(vdaf, [...reports, await buildReport(params, strongest, vdaf)])).sum, s, SEED, length);
    const bound = verifiableBound(s, length);
    const moved = l2(attacked, honest);
    expect(moved).toBeLessThanOrEqual(bound.l2 + 1e-9);
    expect(moved).toBeGreaterThan(0.9 * s.noise.clipNorm); // it does reach about C …
    expect(bound.l2).toBeLessThan(1.01 * s.noise.clipNorm); // … and no further

    // the range check's extreme (every entry at ±B: ‖x‖ = B·√d ≫ √N), which the range-only mode accepts:
    // the honest client refuses it, and forged (slack bits claiming 0, the checks' true results) the aggregators drop it
    const b = entryBound(s.bits);
    const extreme = Array.from({ length: 64 }, (_, j) => (j % 3 ? b - 1 : -b));
    await expect(buildReport(params, extreme, vdaf)).rejects.toThrow(RangeError);
    const forger = forgedPine(params, { checks: (prefix, seed, c) => [...c.slackBits(0n), ...c.wraparoundEncoding(prefix, seed).encoding] });
    expect(await rejectedByBoth(vdaf, await buildReport(params, extreme, forger))).toBe(true);
    // one step past the bound along the strongest direction: refused by the client, dropped forged
    const past = strongest.map((v, j) => (j === 0 ? v + Math.sign(v || 1) : v));
    const pastNorm = past.reduce((a, v) => a + v * v, 0);
    if (pastNorm > n) {
      const forgerPast = forgedPine(params, { checks: (prefix, seed, c) => [...c.slackBits(0n), ...c.wraparoundEncoding(prefix, seed).encoding] });
      expect(await rejectedByBoth(vdaf, await buildReport(params, past, forgerPast))).toBe(true);
    }
  });
});
