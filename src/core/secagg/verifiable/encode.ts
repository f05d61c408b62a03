/**
 * The device's update for the verifiable mode (prio.ts), and the bound it puts on a tampering device.
 * Hand-written: the choice of the scale γ_v and the clamp; clip, rotation, conditional rounding and the
 * noise share are encode.ts's, unchanged.
 *
 * Device (encodeForVerifiable): clip to L2 ≤ C, × γ_v, rotate (randomized Hadamard, rotation.ts's
 * blocks), conditional randomized rounding (‖x̃‖ ≤ Δ₂ = roundedNormBound(γ_v·C, d)), + the device's
 * discrete Gaussian share (noise 'device': σ_dev = γ_v·z·C/√n_min, as encode.ts) or none (noise
 * 'aggregators': addAggregatorNoise adds it to each aggregate share), then CLAMP each entry to [−B, B − 1],
 * B = 2^(bits−1), the range Prio3SumVec proves.
 *
 * γ_v is the largest scale whose honest entries fit the range with probability ≥ 1 − δ (δ = tailProbability):
 *   - the signal: after the rotation an entry in a block of size m is a Rademacher sum of the block's
 *     inputs, so |entry| ≤ γ_v·C·√(2 ln(2d/δ)/m) for all d entries with probability ≥ 1 − δ (Hoeffding, union
 *     bound); m = the smallest block (rotation.ts tiles the padded length with blocks down to 1,024, so an
 *     update concentrated in the last block is the worst case);
 *   - the rounding: < 1;
 *   - the device's noise share: K = NOISE_STDDEVS standard deviations, each entry past it with probability
 *     ≤ 2e^(−K²/2) (subgaussian).
 *   γ_v = (B − 2) / (C·(√(2 ln(2d/δ)/m) + K·z/√n_min))   (the K·z term only in the 'device' noise mode).
 * Clamping never triggers except on those tail events. When it does on an honest device it changes that
 * device's entry of signal + noise (a post-processing of the device's own noisy value, but the
 * distributed-noise analysis assumes unclamped shares: the device reports how many it clamped).
 *
 * The bound (verifiableBound): an accepted report has every entry in [−B, B), whatever the device did, so it
 * moves the integer sum by at most B per entry and B·√d in L2, i.e. the decoded float sum (÷ γ_v, inverse
 * rotation: orthogonal) by at most B·√d/γ_v in L2 — against C for an honest device. The factor
 *   B·√d/(γ_v·C) ≈ √d·(√(2 ln(2d/δ)/m) + K·z/√n_min)
 * does not depend on the bits (bits set the quantization only): the room a tampering device has is what the
 * range must leave to honest entries, spread over every coordinate.
 *
 * With normCheck the proof checks ‖x̃‖² ≤ N = ⌊Δ₂²⌋ (PINE, pine.ts, since stop 34; stop 33's circuit sent every
 * entry as bits), which every honest rounded vector meets (conditional rounding keeps ‖x̃‖ ≤ Δ₂; the clamp only
 * shrinks entries). The bound is then √N/γ_v ≤ Δ₂/γ_v: C times the rounding's inflation (honestL2/C, 1.0003 at
 * W, q, b and 10 bits), the same bound ε is computed on — exact for an accepted report, up to PINE's soundness
 * error (2^−87 per try at its defaults, pine.ts). The bits then set only γ_v and the clamp: entries are sent as
 * field elements, not bits.
 */
import { cryptoUniform, type Uniform } from '../../federated/random';
import {
  clipToNorm,
  conditionalRandomizedRound,
  encodedLength,
  minimumSurvivors,
  rotationBlocks,
  roundedNormBound,
  validateNoiseSettings,
  type DistributedNoiseSettings,
} from '../encode';
import { discreteGaussianSampler } from '../noise';
import { rotate, rotationSigns, unrotate } from '../rotation';
import type { PineField } from './pine-params';
import { entryBound, type VerifiableParams } from './prio';

/** Where the noise is added: by each device (its share, as in the masked mode) or by each aggregator. */
export type NoisePlacement = 'device' | 'aggregators';

export interface VerifiableSettings {
  /** C, z, n, dropout tolerance as in the masked mode; `scale` is ignored (γ_v is verifiableScale's). */
  noise: DistributedNoiseSettings;
  /** b: bits per entry of the proof (the range [−2^(b−1), 2^(b−1))). */
  bits: number;
  placement: NoisePlacement;
  /** δ of the signal's tail bound (default 10⁻⁶). */
  tailProbability?: number;
  /**
   * Prove ‖x̃‖² ≤ N = ⌊Δ₂²⌋ (Prio3Pine, pine.ts), the bound an honest device's rounded vector meets by
   * construction: a tampering device then moves the decoded sum by ≤ √N/γ_v ≤ Δ₂/γ_v (≈ C, verifiableBound).
   * Placement 'aggregators' only: a device's noise share has norm ≈ σ_dev·√d, far past Δ₂.
   */
  normCheck?: boolean;
  /** With normCheck: PINE's field (prio.ts VerifiableParams.field; default Field128, one proof). */
  field?: PineField;
}

/** K: noise standard deviations of room in the range (2e^(−24.5) ≈ 4.6·10⁻¹¹ per entry). */
export const NOISE_STDDEVS = 7;
export const DEFAULT_TAIL_PROBABILITY = 1e-6;

/** The per-entry bound of an honest rotated entry, in units of C: √(2 ln(2d/δ)/m) + K·z/√n_min. */
export function honestEntryBound(s: VerifiableSettings, length: number): number {
  validateNoiseSettings(s.noise);
  const d = encodedLength(length);
  const m = Math.min(...rotationBlocks(length));
  const delta = s.tailProbability ?? DEFAULT_TAIL_PROBABILITY;
  if (!(delta > 0 && delta < 1)) throw new RangeError(`tailProbability must be in (0, 1) (got ${delta})`);
  const signal = Math.sqrt((2 * Math.log((2 * d) / delta)) / m);
  const noise = s.placement === 'device' ? (NOISE_STDDEVS * s.noise.noiseMultiplier) / Math.sqrt(minimumSurvivors(s.noise)) : 0;
  return signal + noise;
}

/** γ_v = (B − 2) / (C·honestEntryBound). */
export function verifiableScale(s: VerifiableSettings, length: number): number {
  const b = entryBound(s.bits);
  if (b < 4) throw new RangeError(`bits must be ≥ 3 for the verifiable encoding (got ${s.bits})`);
  return (b - 2) / (s.noise.clipNorm * honestEntryBound(s, length));
}

/**
 * Settings for the accountant (accountant.ts) in this mode: γ_v as the scale (so ε is computed on the
 * rounded bound Δ₂ at γ_v); with placement 'aggregators' one share of σ = γ_v·z·C (one aggregator's noise:
 * ε holds while either aggregator is honest), i.e. a cohort of 1 with no dropout.
 */
export function accountingSettings(s: VerifiableSettings, length: number): DistributedNoiseSettings {
  const scale = verifiableScale(s, length);
  return s.placement === 'device' ? { ...s.noise, scale } : { ...s.noise, expectedCohort: 1, dropoutTolerance: 0, scale };
}

/** σ each aggregator adds to its aggregate share with placement 'aggregators' (integer units): γ_v·z·C. */
export function aggregatorNoiseStddev(s: VerifiableSettings, length: number): number {
  return verifiableScale(s, length) * s.noise.noiseMultiplier * s.noise.clipNorm;
}

/** N = ⌊Δ₂²⌋, Δ₂ = roundedNormBound(γ_v·C, d): the squared norm the L2 proof accepts (normCheck). */
export function squaredNormBound(s: VerifiableSettings, length: number): number {
  const d = encodedLength(length);
  const delta2 = roundedNormBound(verifiableScale(s, length) * s.noise.clipNorm, d);
  return Math.floor(delta2 * delta2);
}

/** The proof's parameters for these settings: d entries of `bits`, with the norm bound when normCheck. */
export function verifiableParams(s: VerifiableSettings, length: number): VerifiableParams {
  if (s.normCheck && s.placement !== 'aggregators')
    throw new RangeError("the norm check needs placement 'aggregators' (a device's noise share has a norm of about σ_dev·√d, far past Δ₂)");
  const d = encodedLength(length);
  // Field128 is the absent default: a Field128 task's parameters are those of before stop 38, key for key
  return s.normCheck
    ? { length: d, bits: s.bits, normBound: squaredNormBound(s, length), ...(s.field === undefined || s.field === 'field128' ? {} : { field: s.field }) }
    : { length: d, bits: s.bits };
}

export interface VerifiableBound {
  /** B: each entry of an accepted report lies in [−B, B). */
  entry: number;
  /** B·√d (range only) or √N (normCheck): the most an accepted report moves the integer sum in L2. */
  l2Integer: number;
  /** l2Integer/γ_v: the same on the decoded float sum. */
  l2: number;
  /** l2 / C: the tampering device's room in units of an honest device's clipping bound. */
  timesClip: number;
  /** Δ₂/γ_v: an honest device's L2 bound after rounding, in float units (≥ C; what ε is computed on). */
  honestL2: number;
}

export function verifiableBound(s: VerifiableSettings, length: number): VerifiableBound {
  const d = encodedLength(length);
  const gamma = verifiableScale(s, length);
  const b = entryBound(s.bits);
  const l2Integer = s.normCheck ? Math.sqrt(verifiableParams(s, length).normBound!) : b * Math.sqrt(d);
  return {
    entry: b,
    l2Integer,
    l2: l2Integer / gamma,
    timesClip: l2Integer / (gamma * s.noise.clipNorm),
    honestL2: roundedNormBound(gamma * s.noise.clipNorm, d) / gamma,
  };
}

export interface VerifiableEncoding {
  /** The padded, rotated, rounded (+ noise share) entries, each in [−B, B). */
  values: Int32Array;
  /** Entries the clamp changed (0 but for the tail events of the module comment). */
  clamped: number;
}

/** The honest device's vector for buildReport. `rng`: crypto by default; seeded for tests only. */
export function encodeForVerifiable(delta: Float32Array, s: VerifiableSettings, rotationSeed: Uint8Array, rng?: Uniform): VerifiableEncoding {
  if (s.normCheck) verifiableParams(s, delta.length); // refuses the device placement
  const uniform = rng ?? cryptoUniform();
  const gamma = verifiableScale(s, delta.length);
  const d = encodedLength(delta.length);
  const b = entryBound(s.bits);
  const clipped = clipToNorm(delta, s.noise.clipNorm);
  for (let i = 0; i < clipped.length; i++) clipped[i] = clipped[i]! * gamma;
  const rotated = rotate(clipped, rotationSigns(rotationSeed, d));
  const { values: rounded } = conditionalRandomizedRound(rotated, roundedNormBound(gamma * s.noise.clipNorm, d), uniform);
  const sigma = s.placement === 'device' ? (gamma * s.noise.noiseMultiplier * s.noise.clipNorm) / Math.sqrt(minimumSurvivors(s.noise)) : 0;
  const noise = sigma > 0 ? discreteGaussianSampler(sigma, uniform) : () => 0;
  const values = new Int32Array(d);
  let clamped = 0;
  for (let i = 0; i < d; i++) {
    const v = rounded[i]! + noise();
    const c = Math.min(b - 1, Math.max(-b, v));
    if (c !== v) clamped++;
    values[i] = c;
  }
  return { values, clamped };
}

/** The float sum of the accepted reports' clipped deltas (+ noise) from combineAggregates' integer sum. */
export function decodeVerifiableSum(sum: Float64Array, s: VerifiableSettings, rotationSeed: Uint8Array, length: number): Float32Array {
  const d = encodedLength(length);
  if (sum.length !== d) throw new RangeError(`the sum has ${sum.length} entries, expected ${d} for a delta of ${length}`);
  const gamma = verifiableScale(s, length);
  const scaled = new Float64Array(d);
  for (let i = 0; i < d; i++) scaled[i] = sum[i]! / gamma;
  return Float32Array.from(unrotate(scaled, rotationSigns(rotationSeed, d)).subarray(0, length));
}
