/**
 * A device's update as an integer vector for secure aggregation, with the device's share of distributed
 * discrete Gaussian noise: the mechanism of Kairouz, Liu & Steinke, "The Distributed Discrete Gaussian
 * Mechanism for Federated Learning with Secure Aggregation" (ICML 2021), its client and server procedures.
 * Written by hand (no maintained JS package implements it); the rotation is in rotation.ts, the sampler
 * in noise.ts and the privacy accounting in accountant.ts.
 *
 * Device (encodeForSum):
 *   1. clip the float delta to L2 ≤ C (float64);
 *   2. scale by γ and rotate: x = γ·R·clip(Δ), R the randomized Hadamard transform of the round's public
 *      seed, on the vector zero-padded to encodedLength (orthogonal, so ‖x‖ ≤ γC);
 *   3. conditional randomized rounding: each coordinate rounds up with probability equal to its fractional
 *      part (unbiased), and the whole rounding is redrawn until ‖x̃‖ ≤ Δ₂ (roundedNormBound, the paper's
 *      Theorem 1 bound with bias β = e^(−1/2), the paper's experiments' value); each try passes with
 *      probability ≥ 1 − β ≈ 0.39 (measured: ~0.88 for a clipped delta at the default γ). After MAX_ROUNDING_TRIES failed
 *      tries (probability ≤ β^64 < 10⁻¹³) it rounds toward zero instead, which never increases a
 *      coordinate's magnitude so the bound holds: the bound is what privacy rests on, so it holds always;
 *   4. add the device's noise share: N_Z(0, σ_dev²) per coordinate, σ_dev = γ·z·C / √n_min (below);
 *   5. reduce mod 2³² (Uint32Array): secure aggregation sums these mod 2³².
 * Server (decodeSum): the sum mod 2³² read as a signed 32-bit integer (two's complement, centred), ÷ γ,
 * inverse rotation, cut to the original length: the float SUM of the survivors' clipped deltas plus noise.
 *
 * Noise shares and dropouts. n = expectedCohort devices are expected; the sum must keep variance
 * ≥ (γzC)² (float: (zC)²) even if up to dropoutTolerance of them drop out, so each device adds variance
 * (γzC)²/n_min with n_min = ⌊n·(1 − dropoutTolerance)⌋ (minimumSurvivors). With m survivors the sum carries
 * m/n_min·(zC)² per coordinate: fewer drops, more noise (up to n/n_min = 1.5× the variance at the default
 * tolerance when nobody drops). The accountant uses the guaranteed minimum n_min. The service must not
 * decode with fewer than n_min survivors (its threshold must be ≥ minimumSurvivors) nor admit more than n
 * devices (the scale below and the accountant assume at most n).
 *
 * The scale γ (float → integer). The decoded sum is wrong if any coordinate of the integer sum leaves
 * [−2³¹, 2³¹). Each rotated coordinate satisfies |x_j| ≤ ‖x‖ ≤ γC, so after rounding |x̃_j| ≤ γC + 1, and
 * the sum of at most n noise shares is √n·σ_dev-subgaussian (each discrete Gaussian is σ-subgaussian,
 * Canonne, Kamath & Steinke 2020). The default γ is the largest with
 *     n·(γC + 1) + k·√n·σ_dev ≤ 2³¹ − 1,  k = WRAP_STDDEVS = 12,  i.e.
 *     γ = (2³¹ − 1 − n) / (C·(n + k·z·√(n/n_min))),
 * so a coordinate wraps with probability ≤ 2e^(−k²/2) ≈ 10⁻³¹ (× the length for a whole vector), for any
 * input within the clip, without relying on the rotation's flattening. At n = 943, z = 1, C = 1 this is
 * γ ≈ 2.25·10⁶: the quantization error of the sum is ≤ √n/(2γ) ≈ 7·10⁻⁶ per coordinate (each device's
 * rounding adds variance ≤ 1/4 in integer units) against the noise's zC = 1, and the sensitivity after
 * rounding exceeds C by a relative ~10⁻⁶, which is why ε matches the continuous Gaussian's (accountant.ts).
 * A malicious device is not bound by any of this (it can add anything mod 2³²): see the threat model.
 */
import { flatten, unflatten, type ParamSet, type TensorLayout } from '../federated/params';
import { cryptoUniform, type Uniform } from '../federated/random';
import { discreteGaussianSampler, discreteGaussianVariance } from './noise';
import { blockSizes, paddedLength, rotate, rotationSigns, unrotate } from './rotation';

export interface DistributedNoiseSettings {
  /** C, L2 bound on the float delta. */
  clipNorm: number;
  /** z: the SUM carries discrete Gaussian noise of stddev z·C (float units) when n_min devices survive. */
  noiseMultiplier: number;
  /** n: the most devices in a round (the cohort). */
  expectedCohort: number;
  /** The sum keeps ≥ z·C of noise even if this fraction of n drops (default 1/3). */
  dropoutTolerance: number;
  bits: 32;
  /** γ (float → integer); absent: defaultScale (no wraparound for n devices, documented above). */
  scale?: number;
}

export const DEFAULT_DROPOUT_TOLERANCE = 1 / 3;
/** β of conditional randomized rounding (KLS21 use e^(−1/2) in their experiments). */
export const ROUNDING_BETA = Math.exp(-0.5);
/** Noise standard deviations of headroom in the default scale (wrap probability ≤ 2e^(−72) per coordinate). */
export const WRAP_STDDEVS = 12;
/** Rounding tries before the round-toward-zero fallback. */
export const MAX_ROUNDING_TRIES = 64;
const HALF_RANGE = 2 ** 31 - 1;

/** Throws a RangeError naming the first invalid field. */
export function validateNoiseSettings(s: DistributedNoiseSettings): void {
  if (!(s.clipNorm > 0 && Number.isFinite(s.clipNorm))) throw new RangeError(`clipNorm must be positive and finite (got ${s.clipNorm})`);
  if (!(s.noiseMultiplier >= 0 && Number.isFinite(s.noiseMultiplier)))
    throw new RangeError(`noiseMultiplier must be finite and non-negative (got ${s.noiseMultiplier})`);
  if (!(Number.isInteger(s.expectedCohort) && s.expectedCohort >= 1 && s.expectedCohort <= 1_000_000)) {
    throw new RangeError(`expectedCohort must be an integer in [1, 10⁶] (got ${s.expectedCohort})`);
  }
  if (!(s.dropoutTolerance >= 0 && s.dropoutTolerance < 1)) throw new RangeError(`dropoutTolerance must be in [0, 1) (got ${s.dropoutTolerance})`);
  if (s.bits !== 32) throw new RangeError(`only 32-bit aggregation is supported (got ${String(s.bits)})`);
  if (s.scale !== undefined && !(s.scale > 0 && Number.isFinite(s.scale))) throw new RangeError(`scale must be positive and finite (got ${s.scale})`);
  if (minimumSurvivors(s) < 1) throw new RangeError(`a cohort of ${s.expectedCohort} with dropout tolerance ${s.dropoutTolerance} guarantees no survivor`);
}

/**
 * n_min = ⌊n·(1 − dropoutTolerance)⌋: the fewest survivors whose noise shares still add up to (zC)².
 * (The 1e-9 keeps 3·(1 − 1/3) at 2 despite binary rounding.)
 */
export function minimumSurvivors(s: Pick<DistributedNoiseSettings, 'expectedCohort' | 'dropoutTolerance'>): number {
  return Math.floor(s.expectedCohort * (1 - s.dropoutTolerance) + 1e-9);
}

/** γ = (2³¹ − 1 − n) / (C·(n + k·z·√(n/n_min))): see the module comment. */
export function defaultScale(s: DistributedNoiseSettings): number {
  const n = s.expectedCohort;
  const headroom = WRAP_STDDEVS * s.noiseMultiplier * Math.sqrt(n / minimumSurvivors(s));
  return (HALF_RANGE - n) / (s.clipNorm * (n + headroom));
}

/** The γ in use: the settings' scale, or the default. */
export function scaleOf(s: DistributedNoiseSettings): number {
  return s.scale ?? defaultScale(s);
}

/** σ_dev, the device's noise share in integer units: γ·z·C / √n_min. */
export function deviceNoiseStddev(s: DistributedNoiseSettings): number {
  return (scaleOf(s) * s.noiseMultiplier * s.clipNorm) / Math.sqrt(minimumSurvivors(s));
}

/** Length of the encoded (rotated, padded) vector for a delta of `length` values: see rotation.ts. */
export function encodedLength(length: number): number {
  return paddedLength(length);
}

/** Block sizes of the rotation (for docs and the bench). */
export function rotationBlocks(length: number): number[] {
  return blockSizes(paddedLength(length));
}

/**
 * Δ₂: the L2 bound a conditionally rounded vector keeps, for an input of norm ≤ `scaledNorm` (integer
 * units) in `dimension` coordinates (KLS21 Theorem 1): min{ c + √d, √(c² + d/4 + √(2 ln(1/β))·(c + √d/2)) }.
 * The first term holds for any rounding (each coordinate moves < 1); the second is the conditional one.
 */
export function roundedNormBound(scaledNorm: number, dimension: number, beta: number = ROUNDING_BETA): number {
  if (!(scaledNorm >= 0) || !(dimension >= 1)) throw new RangeError('roundedNormBound needs a non-negative norm and a positive dimension');
  if (!(beta >= 0 && beta < 1)) throw new RangeError(`β must be in [0, 1) (got ${beta})`);
  const c = scaledNorm;
  const rootD = Math.sqrt(dimension);
  const always = c + rootD;
  if (beta === 0) return always;
  const conditional = Math.sqrt(c * c + dimension / 4 + Math.sqrt(2 * Math.log(1 / beta)) * (c + rootD / 2));
  return Math.min(always, conditional);
}

/** A ParamSet as one vector: names in paramNames order, each tensor's values in order (the contract of COMMON.md). */
export function flattenParams(params: ParamSet): Float32Array {
  return flatten(params);
}

/** Inverse of flattenParams for a layout (names sorted the same way). */
export function unflattenParams(layout: readonly TensorLayout[], flat: Float32Array): ParamSet {
  return unflatten(layout, flat);
}

/** `delta` clipped to L2 ≤ clipNorm, in float64; throws on a non-finite value (it would poison the sum). */
export function clipToNorm(delta: ArrayLike<number>, clipNorm: number): Float64Array {
  let squared = 0;
  for (let i = 0; i < delta.length; i++) {
    const v = delta[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`the delta has a non-finite value at index ${i}`);
    squared += v * v;
  }
  const norm = Math.sqrt(squared);
  const factor = norm > clipNorm ? clipNorm / norm : 1;
  const out = new Float64Array(delta.length);
  for (let i = 0; i < delta.length; i++) out[i] = delta[i]! * factor;
  return out;
}

export interface RoundingResult {
  /** Integers (as doubles) with ‖values‖ ≤ bound. */
  values: Float64Array;
  /** Tries used (MAX_ROUNDING_TRIES + 1 when the round-toward-zero fallback ran). */
  tries: number;
}

/**
 * Conditional randomized rounding (KLS21, the client's rounding step): unbiased randomized rounding, redrawn
 * until ‖x̃‖ ≤ bound; after `maxTries` it rounds toward zero (|x̃_j| ≤ |x_j|, so ‖x̃‖ ≤ ‖x‖ ≤ bound
 * whenever the input is within it). The conditioning adds a bias of L2 norm ≤ √P(reject)/(2(1 − P(reject)))
 * ≤ √β/(2(1 − β)) ≈ 1.0 integer unit for the whole vector (Cauchy–Schwarz on the rejected event; each
 * coordinate's rounding error has variance ≤ 1/4).
 */
export function conditionalRandomizedRound(x: Float64Array, bound: number, uniform: Uniform, maxTries = MAX_ROUNDING_TRIES): RoundingResult {
  const values = new Float64Array(x.length);
  const limit = bound * bound;
  for (let tries = 1; tries <= maxTries; tries++) {
    let squared = 0;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const floor = Math.floor(v);
      const r = uniform() < v - floor ? floor + 1 : floor;
      values[i] = r;
      squared += r * r;
    }
    if (squared <= limit) return { values, tries };
  }
  for (let i = 0; i < x.length; i++) values[i] = Math.trunc(x[i]!);
  return { values, tries: maxTries + 1 };
}

/**
 * The device's encoded update: clip, rotate (randomized Hadamard, padded), conditional randomized rounding,
 * + the device's discrete Gaussian share, mod 2³². `rng` defaults to crypto.getRandomValues; a seeded
 * one is for tests only (whoever knows the seed can subtract the noise).
 */
export function encodeForSum(delta: Float32Array, s: DistributedNoiseSettings, rotationSeed: Uint8Array, rng?: Uniform): Uint32Array {
  validateNoiseSettings(s);
  const uniform = rng ?? cryptoUniform();
  const gamma = scaleOf(s);
  const padded = encodedLength(delta.length);
  const clipped = clipToNorm(delta, s.clipNorm);
  for (let i = 0; i < clipped.length; i++) clipped[i] = clipped[i]! * gamma;
  const rotated = rotate(clipped, rotationSigns(rotationSeed, padded));
  const { values } = conditionalRandomizedRound(rotated, roundedNormBound(gamma * s.clipNorm, padded), uniform);
  const noise = discreteGaussianSampler(deviceNoiseStddev(s), uniform);
  const out = new Uint32Array(padded);
  // ToUint32 (>>> 0) is exact reduction mod 2³² for any integer-valued double.
  for (let i = 0; i < padded; i++) out[i] = (values[i]! + noise()) >>> 0;
  return out;
}

/**
 * The float SUM of the survivors' clipped deltas (+ the summed noise) from the mod-2³² sum of their
 * encodings: signed (two's complement), ÷ γ, inverse rotation, cut to `length`. The mean delta is this
 * divided by the number of survivors.
 */
export function decodeSum(sum: Uint32Array, s: DistributedNoiseSettings, rotationSeed: Uint8Array, length: number): Float32Array {
  validateNoiseSettings(s);
  const padded = encodedLength(length);
  if (sum.length !== padded) throw new RangeError(`the sum has ${sum.length} entries, expected ${padded} for a delta of ${length}`);
  const gamma = scaleOf(s);
  const signed = new Float64Array(padded);
  for (let i = 0; i < padded; i++) signed[i] = (sum[i]! | 0) / gamma;
  const restored = unrotate(signed, rotationSigns(rotationSeed, padded));
  return Float32Array.from(restored.subarray(0, length));
}

/**
 * Upper bound on the per-coordinate variance of the decoded float SUM's error with `survivors` devices:
 * survivors·(Var N_Z(0, σ_dev²) + 1/4)/γ², the discrete Gaussian shares plus each device's rounding
 * (variance ≤ 1/4 per rotated coordinate; the inverse rotation is orthogonal, so each output coordinate
 * is a convex combination of those variances). Excludes the conditional-rounding bias (roundingBiasBound).
 */
export function sumNoiseVariance(s: DistributedNoiseSettings, survivors: number): number {
  validateNoiseSettings(s);
  if (!(Number.isInteger(survivors) && survivors >= 0)) throw new RangeError(`survivors must be a non-negative integer (got ${survivors})`);
  const gamma = scaleOf(s);
  return (survivors * (discreteGaussianVariance(deviceNoiseStddev(s)) + 0.25)) / (gamma * gamma);
}

export interface SumCheck {
  /** L2 norm of the decoded sum (float units, rotated domain = any domain: the rotation is orthogonal). */
  norm: number;
  /** The most an honest round's sum can have, but with probability ≤ e^(−72). */
  bound: number;
  plausible: boolean;
}

/**
 * A check of the mod-2³² sum before decoding it, against gross tampering: a device that uploads garbage
 * or a vector far outside its clip (secure aggregation hides which one) usually pushes the sum's norm past
 * what `survivors` honest devices can produce, ‖Σ x̃_i + noise‖ ≤ m·Δ₂ + ‖noise‖, where the noise (m shares,
 * each σ_dev-subgaussian, so ‖noise‖²/(mσ_dev²) is dominated by a χ²_d) stays below √(mσ_dev²·(d + 2√(72d) + 144))
 * but with probability e^(−72) (Laurent & Massart 2000). It is not a proof of each device's norm: within the
 * bound's slack (about m·C when the honest deltas are small or cancel) a malicious device still moves the sum.
 */
export function checkSum(sum: Uint32Array, s: DistributedNoiseSettings, survivors: number): SumCheck {
  validateNoiseSettings(s);
  if (!(Number.isInteger(survivors) && survivors >= 1)) throw new RangeError(`survivors must be a positive integer (got ${survivors})`);
  const gamma = scaleOf(s);
  const d = sum.length;
  let squared = 0;
  for (let i = 0; i < d; i++) {
    const v = sum[i]! | 0;
    squared += v * v;
  }
  const sigma = deviceNoiseStddev(s);
  const noise = Math.sqrt(survivors * sigma * sigma * (d + 2 * Math.sqrt(72 * d) + 144));
  const norm = Math.sqrt(squared) / gamma;
  const bound = (survivors * roundedNormBound(gamma * s.clipNorm, d) + noise) / gamma;
  return { norm, bound, plausible: norm <= bound };
}

export interface EncodingReport {
  length: number;
  paddedLength: number;
  /** γ. */
  scale: number;
  minimumSurvivors: number;
  /** σ_dev in integer units. */
  deviceNoiseStddev: number;
  /** The decoded sum's noise stddev per coordinate (float), with n_min and with all n surviving. */
  sumNoiseStddevAtMinimum: number;
  sumNoiseStddevAtFull: number;
  /** Bound on the rounding error's stddev per coordinate of the sum of n devices (float): √n/(2γ). */
  quantizationStddev: number;
  /** Bound on the L2 norm of the sum's bias from conditional rounding with n devices (float): n·√β/(2(1 − β)γ). */
  roundingBiasBound: number;
  /** Δ₂/γ: the L2 sensitivity after rounding, in float units (≥ C). */
  sensitivity: number;
  /** Bound on the probability that any coordinate of the sum wraps mod 2³² (inputs within the clip, ≤ n devices). */
  wrapProbabilityBound: number;
}

/** The figures docs and the bench quote for a setting. */
export function encodingReport(s: DistributedNoiseSettings, length: number): EncodingReport {
  validateNoiseSettings(s);
  const n = s.expectedCohort;
  const gamma = scaleOf(s);
  const padded = encodedLength(length);
  const nMin = minimumSurvivors(s);
  const sigma = deviceNoiseStddev(s);
  const noiseStddev = Math.sqrt(n) * sigma;
  const slack = HALF_RANGE - n * (gamma * s.clipNorm + 1);
  let wrap: number;
  if (slack <= 0) wrap = 1;
  else if (noiseStddev === 0) wrap = 0;
  else wrap = Math.min(1, padded * 2 * Math.exp(-((slack / noiseStddev) ** 2) / 2));
  return {
    length,
    paddedLength: padded,
    scale: gamma,
    minimumSurvivors: nMin,
    deviceNoiseStddev: sigma,
    sumNoiseStddevAtMinimum: (Math.sqrt(nMin) * sigma) / gamma,
    sumNoiseStddevAtFull: noiseStddev / gamma,
    quantizationStddev: Math.sqrt(n) / (2 * gamma),
    roundingBiasBound: (n * Math.sqrt(ROUNDING_BETA)) / (2 * (1 - ROUNDING_BETA) * gamma),
    sensitivity: roundedNormBound(gamma * s.clipNorm, padded) / gamma,
    wrapProbabilityBound: wrap,
  };
}
