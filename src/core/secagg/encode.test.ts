import { describe, expect, it } from 'vitest';
import { layoutOf, paramNames, type ParamSet } from '../federated/params';
import { seededUniform, type Uniform } from '../federated/random';
import { discreteGaussianVariance } from './noise';
import {
  checkSum,
  clipToNorm,
  conditionalRandomizedRound,
  decodeSum,
  defaultScale,
  deviceNoiseStddev,
  encodedLength,
  encodeForSum,
  encodingReport,
  flattenParams,
  minimumSurvivors,
  roundedNormBound,
  scaleOf,
  sumNoiseVariance,
  unflattenParams,
  type DistributedNoiseSettings,
} from './encode';
import { rotate, rotationSigns, unrotate } from './rotation';

const seed = new Uint8Array(32).map((_, i) => i * 7 + 1);

function settings(overrides: Partial<DistributedNoiseSettings> = {}): DistributedNoiseSettings {
  return { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 30, dropoutTolerance: 1 / 3, bits: 32, ...overrides };
}

/** Sum mod 2³², what secure aggregation hands the server. */
function modularSum(vectors: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i] = (out[i]! + v[i]!) >>> 0;
  return out;
}

function randomDelta(length: number, norm: number, uniform: Uniform): Float32Array {
  const d = Float32Array.from({ length }, () => uniform() * 2 - 1);
  let s = 0;
  for (const v of d) s += v * v;
  const f = norm / Math.sqrt(s);
  return d.map((v) => v * f);
}

function l2(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
}

describe('flattenParams / unflattenParams', () => {
  it('concatenates in paramNames order and inverts', () => {
    const params: ParamSet = {
      q: { shape: [2], values: Float32Array.of(5, 6) },
      W: { shape: [2, 2], values: Float32Array.of(1, 2, 3, 4) },
      b: { shape: [], values: Float32Array.of(7) },
    };
    expect(paramNames(params)).toEqual(['W', 'b', 'q']);
    const flat = flattenParams(params);
    expect(Array.from(flat)).toEqual([1, 2, 3, 4, 7, 5, 6]);
    const back = unflattenParams(layoutOf(params), flat);
    expect(paramNames(back)).toEqual(['W', 'b', 'q']);
    for (const name of paramNames(params)) {
      expect(back[name]!.shape).toEqual(params[name]!.shape);
      expect(Array.from(back[name]!.values)).toEqual(Array.from(params[name]!.values));
    }
    expect(() => unflattenParams(layoutOf(params), new Float32Array(6))).toThrow(RangeError);
  });
});

describe('clipping and conditional randomized rounding', () => {
  it('clips to the norm, leaves smaller vectors alone, refuses non-finite values', () => {
    expect(l2(clipToNorm(Float32Array.of(3, 4), 1))).toBeCloseTo(1, 12);
    expect(Array.from(clipToNorm(Float32Array.of(0.3, 0.4), 1))).toEqual([Float32Array.of(0.3)[0], Float32Array.of(0.4)[0]]);
    expect(() => clipToNorm(Float32Array.of(1, Number.NaN), 1)).toThrow(/non-finite value at index 1/);
  });

  it('the rounded-norm bound is the paper’s Theorem 1 expression', () => {
    const c = 100;
    const d = 64;
    expect(roundedNormBound(c, d, 0)).toBe(c + 8);
    const beta = Math.exp(-0.5);
    expect(roundedNormBound(c, d, beta)).toBeCloseTo(Math.sqrt(c * c + d / 4 + Math.sqrt(2 * 0.5) * (c + 4)), 12);
    // For tiny c and large d the unconditional c + √d is the smaller one.
    expect(roundedNormBound(0.1, 10_000, beta)).toBeCloseTo(Math.min(100.1, Math.sqrt(0.01 + 2500 + 1 * (0.1 + 50))), 9);
  });

  it('rounds without bias, and every accepted rounding is within the bound', () => {
    const uniform = seededUniform(12);
    const x = Float64Array.from({ length: 64 }, (_, i) => (i - 32) * 0.37 + 0.123);
    const bound = roundedNormBound(l2(x), x.length);
    const trials = 4000;
    const mean = new Float64Array(x.length);
    let worstNorm = 0;
    let worstStep = 0;
    let integers = true;
    for (let t = 0; t < trials; t++) {
      const { values } = conditionalRandomizedRound(x, bound, uniform);
      worstNorm = Math.max(worstNorm, l2(values));
      for (let i = 0; i < x.length; i++) {
        integers &&= Number.isInteger(values[i]);
        worstStep = Math.max(worstStep, Math.abs(values[i]! - x[i]!));
        mean[i]! += values[i]! / trials;
      }
    }
    expect(worstNorm).toBeLessThanOrEqual(bound);
    expect(worstStep).toBeLessThan(1);
    expect(integers).toBe(true);
    // Per coordinate the rounding has variance ≤ 1/4; conditional rounding adds a bias of L2 norm ≤ ~1.0 in total (encode.ts).
    const bias = Array.from(mean, (m, i) => m - x[i]!);
    expect(l2(bias)).toBeLessThan(1);
    for (const b of bias) expect(Math.abs(b)).toBeLessThan((4.5 * 0.5) / Math.sqrt(trials) + 0.05);
  });

  it('falls back to rounding toward zero when the bound cannot be met by chance', () => {
    const x = Float64Array.from({ length: 32 }, () => 0.5);
    const bound = l2(x); // randomized rounding exceeds this almost surely
    const result = conditionalRandomizedRound(x, bound, seededUniform(1), 8);
    expect(result.tries).toBe(9);
    expect(Array.from(result.values).every((v) => v === 0)).toBe(true);
  });
});

describe('settings, scale and noise share', () => {
  it('n_min = ⌊n·(1 − tolerance)⌋, robust to binary rounding', () => {
    expect(minimumSurvivors({ expectedCohort: 3, dropoutTolerance: 1 / 3 })).toBe(2);
    expect(minimumSurvivors({ expectedCohort: 943, dropoutTolerance: 1 / 3 })).toBe(628);
    expect(minimumSurvivors({ expectedCohort: 1000, dropoutTolerance: 0.3 })).toBe(700);
    expect(minimumSurvivors({ expectedCohort: 10, dropoutTolerance: 0 })).toBe(10);
  });

  it('the default γ meets n·(γC + 1) + 12·√n·σ_dev = 2³¹ − 1 exactly', () => {
    for (const s of [settings(), settings({ expectedCohort: 1000, noiseMultiplier: 2, clipNorm: 0.1 }), settings({ noiseMultiplier: 0 })]) {
      const gamma = defaultScale(s);
      const n = s.expectedCohort;
      expect(n * (gamma * s.clipNorm + 1) + 12 * Math.sqrt(n) * deviceNoiseStddev(s)).toBeCloseTo(2 ** 31 - 1, 0);
      expect(scaleOf({ ...s, scale: 5 })).toBe(5);
    }
  });

  it('refuses invalid settings with the field named', () => {
    const base = new Float32Array(4);
    expect(() => encodeForSum(base, settings({ clipNorm: 0 }), seed)).toThrow(/clipNorm/);
    expect(() => encodeForSum(base, settings({ noiseMultiplier: -1 }), seed)).toThrow(/noiseMultiplier/);
    expect(() => encodeForSum(base, settings({ expectedCohort: 2.5 }), seed)).toThrow(/expectedCohort/);
    expect(() => encodeForSum(base, settings({ dropoutTolerance: 1 }), seed)).toThrow(/dropoutTolerance/);
    expect(() => encodeForSum(base, { ...settings(), bits: 16 as unknown as 32 }, seed)).toThrow(/32-bit/);
    expect(() => encodeForSum(base, settings({ scale: Number.NaN }), seed)).toThrow(/scale/);
    expect(() => encodeForSum(base, settings({ expectedCohort: 1, dropoutTolerance: 0.5 }), seed)).toThrow(/no survivor/);
    expect(() => decodeSum(new Uint32Array(3), settings(), seed, 4)).toThrow(/expected 4/);
  });

  it('the report quotes the figures for the bench setting (ML-100K, n = 943, app delta of 346,384)', () => {
    const report = encodingReport(settings({ expectedCohort: 943 }), 346_384);
    expect(report.paddedLength).toBe(347_136);
    expect(report.minimumSurvivors).toBe(628);
    expect(report.scale).toBeGreaterThan(2.2e6);
    expect(report.sumNoiseStddevAtMinimum).toBeCloseTo(1, 12);
    expect(report.sumNoiseStddevAtFull).toBeCloseTo(Math.sqrt(943 / 628), 12);
    expect(report.quantizationStddev).toBeLessThan(1e-5);
    expect(report.roundingBiasBound).toBeLessThan(1e-3);
    expect(report.sensitivity - 1).toBeLessThan(1e-6);
    expect(report.wrapProbabilityBound).toBeLessThan(1e-20);
  });
});

describe('encode → sum over devices → decode', () => {
  /**
   * Runs `trials` rounds of `devices` encodings of fixed deltas, sums `survivors` of them mod 2³², decodes,
   * and returns the per-coordinate errors against the true sum of the clipped deltas (trials × length).
   */
  function errors(s: DistributedNoiseSettings, deltas: Float32Array[], survivors: number, trials: number, rngSeed: number): Float64Array {
    const uniform = seededUniform(rngSeed);
    const length = deltas[0]!.length;
    const truth = new Float64Array(length);
    for (let d = 0; d < survivors; d++) {
      const clipped = clipToNorm(deltas[d]!, s.clipNorm);
      for (let i = 0; i < length; i++) truth[i]! += clipped[i]!;
    }
    const out = new Float64Array(trials * length);
    for (let t = 0; t < trials; t++) {
      const encoded = deltas.slice(0, survivors).map((delta) => encodeForSum(delta, s, seed, uniform));
      const decoded = decodeSum(modularSum(encoded), s, seed, length);
      for (let i = 0; i < length; i++) out[t * length + i] = decoded[i]! - truth[i]!;
    }
    return out;
  }

  function moments(e: Float64Array): { mean: number; variance: number } {
    let sum = 0;
    let squares = 0;
    for (const v of e) {
      sum += v;
      squares += v * v;
    }
    const mean = sum / e.length;
    return { mean, variance: squares / e.length - mean * mean };
  }

  it('is unbiased, with the noise variance the settings promise when exactly n_min devices survive', () => {
    const s = settings({ expectedCohort: 30, noiseMultiplier: 0.5 });
    const uniform = seededUniform(2);
    const deltas = Array.from({ length: 30 }, () => randomDelta(100, 0.5 + uniform() * 1.5, uniform)); // some beyond the clip
    const survivors = minimumSurvivors(s); // 20
    const trials = 300;
    const e = errors(s, deltas, survivors, trials, 3);
    const { mean, variance } = moments(e);
    // Predicted: survivors·Var N_Z(0, σ_dev²)/γ² = (zC)² (σ_dev is ~10⁴: the discrete variance is σ²), plus rounding ≤ 20/(4γ²) ≈ 10⁻¹¹.
    const predicted = (survivors * discreteGaussianVariance(deviceNoiseStddev(s))) / scaleOf(s) ** 2;
    expect(predicted).toBeCloseTo(0.25, 9);
    expect(variance).toBeLessThanOrEqual(sumNoiseVariance(s, survivors) * 1.05);
    expect(Math.abs(variance / predicted - 1)).toBeLessThan(0.05); // 30,000 errors: relative SE ≈ 0.8 %
    expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(predicted / e.length));
    // Per coordinate over the trials: no coordinate is biased (4.5 SE each, 100 coordinates; the bias bound is ~10⁻⁵).
    for (let i = 0; i < 100; i++) {
      let m = 0;
      for (let t = 0; t < trials; t++) m += e[t * 100 + i]! / trials;
      expect(Math.abs(m)).toBeLessThan(4.5 * Math.sqrt(predicted / trials));
    }
  });

  it('with nobody dropping the sum carries n/n_min times the variance (more noise, never less)', () => {
    const s = settings({ expectedCohort: 30, noiseMultiplier: 0.5 });
    const uniform = seededUniform(4);
    const deltas = Array.from({ length: 30 }, () => randomDelta(64, 0.8, uniform));
    const { variance } = moments(errors(s, deltas, 30, 300, 5));
    expect(Math.abs(variance / ((0.25 * 30) / 20) - 1)).toBeLessThan(0.06);
  });

  it('quantization error matches Σ p(1 − p)/γ² at a coarse scale, and stays unbiased', () => {
    // No noise, γ = 2: the error is rounding alone; predicted from the rotated inputs' fractional parts.
    const s = settings({ expectedCohort: 20, noiseMultiplier: 0, clipNorm: 100, scale: 2 });
    const uniform = seededUniform(6);
    const deltas = Array.from({ length: 20 }, () => randomDelta(100, 5, uniform));
    const padded = encodedLength(100);
    const signs = rotationSigns(seed, padded);
    let totalVariance = 0; // Σ over devices and rotated coordinates of p(1 − p), integer units
    for (const delta of deltas) {
      const x = rotate(
        Float64Array.from(delta, (v) => v * 2),
        signs,
      );
      for (const v of x) {
        const p = v - Math.floor(v);
        totalVariance += p * (1 - p);
      }
    }
    // The inverse rotation is orthogonal: the mean over output coordinates of the error variance is the total / padded,
    // and the 100 kept coordinates of 128 see the same average in expectation.
    const predicted = totalVariance / padded / 4;
    const trials = 400;
    const e = errors(s, deltas, 20, trials, 7);
    const { mean, variance } = moments(e);
    expect(Math.abs(variance / predicted - 1)).toBeLessThan(0.08);
    expect(variance).toBeLessThanOrEqual(sumNoiseVariance(s, 20));
    expect(Math.abs(mean)).toBeLessThan(4 * Math.sqrt(predicted / e.length));
  });

  it('does not wrap at the default γ for n = 1,000 devices at their worst (all aligned on one rotated coordinate)', () => {
    const s = settings({ expectedCohort: 1000, noiseMultiplier: 1, clipNorm: 0.5 });
    const length = 64;
    const signs = rotationSigns(seed, encodedLength(length));
    const basis = new Float64Array(64);
    basis[0] = 1;
    // Rᵀe₀·C: the delta whose rotation puts all of γC on one coordinate, the largest a valid input can make it.
    const delta = Float32Array.from(unrotate(basis, signs), (v) => v * s.clipNorm * 0.999999);
    const uniform = seededUniform(8);
    const encoded = Array.from({ length: 1000 }, () => encodeForSum(delta, s, seed, uniform));
    const sum = modularSum(encoded);
    const rotatedSum = (sum[0]! | 0) / scaleOf(s);
    expect(rotatedSum).toBeGreaterThan(1000 * s.clipNorm * 0.99); // near the top of the signed range, not wrapped negative
    expect((sum[0]! | 0) + 0).toBeGreaterThan(2 ** 31 * 0.95);
    const decoded = decodeSum(sum, s, seed, length);
    const noise = Math.sqrt(sumNoiseVariance(s, 1000));
    for (let i = 0; i < length; i++) expect(Math.abs(decoded[i]! - 1000 * delta[i]!)).toBeLessThan(6 * noise);
    // The same inputs at 1.05 γ wrap (the bound is tight, so the test can fail).
    const tooLarge = { ...s, scale: scaleOf(s) * 1.05 };
    const wrapped = modularSum(Array.from({ length: 1000 }, () => encodeForSum(delta, tooLarge, seed, uniform)));
    expect(wrapped[0]! | 0).toBeLessThan(0);
  });

  it("the noise depends on the device's randomness; decoding needs the round's rotation seed", () => {
    const s = settings();
    const delta = randomDelta(50, 1, seededUniform(9));
    const a = encodeForSum(delta, s, seed, seededUniform(10));
    expect(encodeForSum(delta, s, seed, seededUniform(11))).not.toEqual(a);
    expect(encodeForSum(delta, s, seed, seededUniform(10))).toEqual(a);
    expect(a.length).toBe(64);
    const quiet = settings({ noiseMultiplier: 0 });
    const encoded = encodeForSum(delta, quiet, seed, seededUniform(10));
    const err = (x: Float32Array) => l2(Array.from(x, (v, i) => v - delta[i]!));
    expect(err(decodeSum(encoded, quiet, seed, 50))).toBeLessThan(1e-6);
    expect(err(decodeSum(encoded, quiet, new Uint8Array(32).fill(99), 50))).toBeGreaterThan(0.5);
  });

  it('checkSum passes honest sums (with or without drops) and flags a device that uploads garbage or a boosted vector', () => {
    const s = settings({ expectedCohort: 30, noiseMultiplier: 1 });
    const uniform = seededUniform(13);
    const deltas = Array.from({ length: 30 }, () => randomDelta(200, 3, uniform)); // all clipped to C
    const same = deltas.map(() => deltas[0]!); // aligned: the honest worst case for the norm
    for (const set of [deltas, same]) {
      for (const survivors of [20, 30]) {
        const encoded = set.slice(0, survivors).map((delta) => encodeForSum(delta, s, seed, uniform));
        const check = checkSum(modularSum(encoded), s, survivors);
        expect(check.plausible).toBe(true);
      }
    }
    const honest = deltas.slice(0, 29).map((delta) => encodeForSum(delta, s, seed, uniform));
    const garbage = new Uint32Array(encodedLength(200));
    globalThis.crypto.getRandomValues(garbage);
    expect(checkSum(modularSum([...honest, garbage]), s, 30).plausible).toBe(false);
    // A device that skips the clip: its delta at 100·C, rotated and scaled like an honest one.
    const signs = rotationSigns(seed, encodedLength(200));
    const boosted = Uint32Array.from(
      rotate(
        clipToNorm(
          deltas[0]!.map((v) => v * 100),
          100 * s.clipNorm,
        ),
        signs,
      ),
      (v) => Math.round(v * scaleOf(s)) >>> 0,
    );
    expect(checkSum(modularSum([...honest, boosted]), s, 30).plausible).toBe(false);
  });

  it('encodes the app delta (346,384 values) in well under a second', () => {
    const s = settings({ expectedCohort: 943 });
    const delta = randomDelta(346_384, 1, seededUniform(12));
    const started = performance.now();
    const encoded = encodeForSum(delta, s, seed);
    const ms = performance.now() - started;
    expect(encoded.length).toBe(347_136);
    expect(ms).toBeLessThan(3000); // ~0.2 s here; the bound only catches a pathological slowdown on a loaded machine
  });
});
