/**
 * Privacy of the distributed discrete Gaussian (encode.ts) over every round a user joined: Rényi DP from
 * Kairouz, Liu & Steinke, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
 * Aggregation" (ICML 2021), composed over rounds and converted to (ε, δ) with the repository's conversion
 * (federated/accountant.ts epsilonFromRdp, DEFAULT_ORDERS).
 *
 * One round, in integer units (after scaling by γ). m devices each add N_Z(0, σ²), σ = σ_dev; the sum of
 * the noise is not a discrete Gaussian but close to one, and for a change Δ of the (rotated, rounded)
 * sum with ‖Δ‖₂ ≤ Δ₂ and ‖Δ‖₁ ≤ Δ₁ the paper's Proposition 14 (the RDP form behind its Theorem 1) gives,
 * with τ = 10·Σ_{k=1}^{m−1} exp(−2π²σ²·k/(k+1)) and d the padded dimension,
 *     RDP(α) ≤ min{ α/2·(Δ₂/√m σ)² + τd,
 *                   α/2·((Δ₂/√m σ)² + 2(Δ₁/√m σ)τ + τ²d),
 *                   α/2·(Δ₂/√m σ + τ√d)² }.
 * With τ = 0 (m = 1; τ < 10⁻³⁷ from σ = 3 on, and at the default scale σ is ~10⁴–10⁵ so τ = 0) this is
 * α/2·(Δ₂/σ_sum)², exactly the continuous Gaussian's RDP at noise multiplier σ_sum/Δ₂ (Canonne, Kamath
 * & Steinke 2020: for integer shifts the discrete Gaussian is as private as the continuous one), which the tests check
 * against gaussianEpsilon. The bound holds at every order α > 1, so the repository's grid (DEFAULT_ORDERS,
 * fractional orders included) is used; the authors' code uses the integers 2..128 and 256 (tests).
 *
 * Sensitivities. The add-remove relation here is "the user's contribution versus a zero contribution"
 * (the device still takes part; its data are replaced by nothing), the relation of the federated
 * export (sensitivity C there). After clipping, rotation and conditional rounding a device's integer
 * vector has ‖x̃‖₂ ≤ Δ₂ = roundedNormBound(γC, d) (encode.ts; slightly above γC), so Δ₂ is the L2
 * sensitivity, and Δ₁ = Δ₂·min(√d, Δ₂) (an integer vector's L1 norm is ≤ √d·L2 and ≤ L2²). The
 * 'replace-one' relation doubles both.
 *
 * Dropouts. Between n_min = minimumSurvivors and n devices survive. The bound is decreasing in m through
 * Δ/(√m σ) and increasing in m through τ, so we take n_min in the first and n in τ: an upper bound for
 * every survivor count the round may decode with (the service never decodes below n_min).
 *
 * Rounds compose by adding RDP curves; a user who joined R rounds with the same settings spends R times
 * one round's curve (rounds the user sat out cost nothing: no subsampling amplification is claimed).
 */
import { DEFAULT_ORDERS, epsilonFromRdp, type NeighbouringRelation } from '../federated/accountant';
import { deviceNoiseStddev, encodedLength, minimumSurvivors, roundedNormBound, scaleOf, validateNoiseSettings, type DistributedNoiseSettings } from './encode';

export interface DistributedAccountingOptions {
  /** Default 'add-remove' (contribution versus a zero contribution). */
  relation?: NeighbouringRelation;
  orders?: readonly number[];
}

/** τ = 10·Σ_{k=1}^{shares−1} exp(−2π²σ²·k/(k+1)) for `shares` discrete Gaussians of parameter σ (integer units). */
export function distributedTau(sigma: number, shares: number): number {
  if (!(sigma >= 0)) throw new RangeError(`σ must be non-negative (got ${sigma})`);
  if (!(Number.isInteger(shares) && shares >= 1)) throw new RangeError(`the number of shares must be a positive integer (got ${shares})`);
  const c = 2 * Math.PI * Math.PI * sigma * sigma;
  let tau = 0;
  // Terms shrink as k grows (k/(k+1) increases), so stop once they no longer change the sum.
  for (let k = 1; k < shares; k++) {
    const term = Math.exp((-c * k) / (k + 1));
    if (term === 0 || term < tau * 1e-17) break;
    tau += term;
  }
  return 10 * tau;
}

export interface DiscreteGaussianSumBound {
  /** L2 sensitivity, integer units. */
  l2Sensitivity: number;
  /** L1 sensitivity, integer units. */
  l1Sensitivity: number;
  /** Noise parameter of one share, integer units. */
  sigma: number;
  /** Fewest shares in the sum (the scale uses it). */
  minShares: number;
  /** Most shares in the sum (τ uses it). */
  maxShares: number;
  /** Dimension d of the summed vector. */
  dimension: number;
}

/** RDP at order α > 1 of one release of the sum of discrete Gaussian shares (KLS21 Prop. 14, module comment). */
export function distributedDiscreteGaussianRdp(b: DiscreteGaussianSumBound, order: number): number {
  if (!(order > 1)) throw new RangeError(`a Rényi order must exceed 1 (got ${order})`);
  if (b.sigma === 0) return Infinity;
  const central = Math.sqrt(b.minShares) * b.sigma;
  const l2 = b.l2Sensitivity / central;
  const l1 = b.l1Sensitivity / central;
  const tau = distributedTau(b.sigma, b.maxShares);
  const d = b.dimension;
  const first = (order / 2) * l2 * l2 + tau * d;
  const second = (order / 2) * (l2 * l2 + 2 * l1 * tau + tau * tau * d);
  const third = (order / 2) * (l2 + Math.sqrt(d) * tau) ** 2;
  return Math.min(first, second, third);
}

/** The bound's inputs for a setting and a delta length (padded inside: passing the padded length works too). */
export function distributedBound(s: DistributedNoiseSettings, dimension: number, relation: NeighbouringRelation = 'add-remove'): DiscreteGaussianSumBound {
  validateNoiseSettings(s);
  const d = encodedLength(dimension);
  const gamma = scaleOf(s);
  const factor = relation === 'add-remove' ? 1 : 2;
  const l2 = roundedNormBound(gamma * s.clipNorm, d);
  return {
    l2Sensitivity: factor * l2,
    l1Sensitivity: factor * l2 * Math.min(Math.sqrt(d), l2),
    sigma: deviceNoiseStddev(s),
    minShares: minimumSurvivors(s),
    maxShares: s.expectedCohort,
    dimension: d,
  };
}

/** RDP curve of `rounds` rounds with the same settings. */
export function distributedRdp(s: DistributedNoiseSettings, rounds: number, dimension: number, options: DistributedAccountingOptions = {}): number[] {
  const bound = distributedBound(s, dimension, options.relation);
  return (options.orders ?? DEFAULT_ORDERS).map((order) => (order > 1 ? rounds * distributedDiscreteGaussianRdp(bound, order) : Infinity));
}

/**
 * ε at δ after a user joined `rounds` rounds with settings `s`, for a delta of `dimension` values.
 * Infinity without noise; 0 for no rounds.
 */
export function distributedEpsilon(
  s: DistributedNoiseSettings,
  rounds: number,
  delta: number,
  dimension: number,
  options: DistributedAccountingOptions = {},
): number {
  if (!(Number.isInteger(rounds) && rounds >= 0)) throw new RangeError(`rounds must be a non-negative integer (got ${rounds})`);
  validateNoiseSettings(s);
  if (rounds === 0) return 0;
  if (s.noiseMultiplier === 0) return Infinity;
  const orders = options.orders ?? DEFAULT_ORDERS;
  return epsilonFromRdp(orders, distributedRdp(s, rounds, dimension, options), delta).epsilon;
}

/**
 * The smallest noise multiplier z (to a relative 1e-6, erring on the noisy side) with
 * distributedEpsilon ≤ ε over `rounds` rounds. The default scale depends on z, and is recomputed for each
 * candidate; ε decreases in z (tested), so bisection on log z suffices.
 */
export function noiseMultiplierForEpsilon(
  epsilon: number,
  delta: number,
  rounds: number,
  s: Omit<DistributedNoiseSettings, 'noiseMultiplier'>,
  dimension: number,
  options: DistributedAccountingOptions = {},
): number {
  if (!(epsilon > 0 && Number.isFinite(epsilon))) throw new RangeError(`target ε must be positive and finite (got ${epsilon})`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1) (got ${delta})`);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new RangeError(`rounds must be a positive integer (got ${rounds})`);
  const at = (z: number): number => distributedEpsilon({ ...s, noiseMultiplier: z }, rounds, delta, dimension, options);
  let low = 1e-3;
  let high = 1e4;
  if (at(high) > epsilon) throw new RangeError(`ε = ${epsilon} at δ = ${delta} over ${rounds} rounds needs more noise than this accountant handles`);
  if (at(low) <= epsilon) return low;
  while (high / low > 1 + 1e-6) {
    const mid = Math.sqrt(low * high);
    if (at(mid) <= epsilon) high = mid;
    else low = mid;
  }
  return high;
}
