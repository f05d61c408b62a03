/**
 * Privacy accounting for exported deltas: Rényi DP of the Gaussian mechanism, composed over
 * every export the user has made, converted to an (ε, δ) statement people can read.
 *
 * The mechanism. An export publishes clip(Δ, C) + N(0, (σC)²·I). Under the add/remove relation
 * (the user's whole contribution versus none, i.e. Δ versus 0) the L2 sensitivity is C, so the
 * noise multiplier is z = σ. Distinguishing two arbitrary histories (replace-one) has sensitivity
 * 2C, i.e. z = σ/2; `effectiveNoiseMultiplier` maps a relation to z so callers say which one they mean.
 *
 * RDP of one release at order α (Mironov 2017, Prop. 7): ε_RDP(α) = α / (2z²). RDP adds up under
 * composition, so k exports with multipliers z_1..z_k give Σ α / (2 z_j²): the accountant keeps
 * nothing but the list of multipliers.
 *
 * Conversion to (ε, δ): for every order on a grid we take the bound of Balle, Barthe, Gaboardi,
 * Hsu & Sato 2020 ("Hypothesis testing interpretations and Rényi DP", Prop. 12; also Canonne,
 * Kamath & Steinke 2020, eq. 20):
 *     ε = ε_RDP(α) + log(1 − 1/α) − (log δ + log α) / (α − 1),
 * which is uniformly tighter than the classical ε_RDP(α) + log(1/δ)/(α − 1) (Mironov Prop. 3),
 * and the smallest over the grid wins. Like TensorFlow Privacy / dp_accounting, when
 * δ ≥ sqrt(1 − e^(−ε_RDP(α))) (a KL/Pinsker-type bound) the answer is ε = 0, and orders ≤ 1.01 are
 * skipped because the bound is numerically unstable there and never the best.
 *
 * For one release the exact (ε, δ) curve of the Gaussian mechanism is known (Balle & Wang 2018,
 * "analytic Gaussian mechanism", Thm. 8); k releases of z compose exactly to one release of z/√k.
 * `analyticGaussianDelta` implements it as a sanity check: RDP must never report less than it.
 */

/**
 * Orders of the grid: fine near 1 (large ε, few exports), integers to 64 (the usual optimum),
 * then coarser up to 4096 (very small ε with heavy noise, where the optimal order grows like 1/ε).
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  1.02,
  1.05,
  ...Array.from({ length: 99 }, (_, i) => Math.round((1.1 + i * 0.1) * 10) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  64,
  80,
  96,
  112,
  128,
  160,
  192,
  224,
  256,
  320,
  384,
  448,
  512,
  640,
  768,
  896,
  1024,
  1536,
  2048,
  3072,
  4096,
]);

/** Who the guarantee protects: a user's contribution versus none, or versus any other contribution. */
export type NeighbouringRelation = 'add-remove' | 'replace-one';

/** Noise standard deviation over sensitivity for a noise multiplier σ (noise σ·C, clip C) and a relation. */
export function effectiveNoiseMultiplier(sigma: number, relation: NeighbouringRelation): number {
  return relation === 'add-remove' ? sigma : sigma / 2;
}

/** RDP of one Gaussian release with noise multiplier z at order α: α / (2z²); infinite without noise. */
export function gaussianRdp(noiseMultiplier: number, order: number): number {
  if (!(order >= 1)) throw new RangeError(`a Rényi order must be at least 1 (got ${order})`);
  if (!(noiseMultiplier >= 0)) throw new RangeError(`a noise multiplier must be non-negative (got ${noiseMultiplier})`);
  if (noiseMultiplier === 0 || order === Infinity) return Infinity;
  return order / (2 * noiseMultiplier * noiseMultiplier);
}

/** RDP curve of a sequence of Gaussian releases (composition: the curves add up). */
export function composedGaussianRdp(noiseMultipliers: readonly number[], orders: readonly number[] = DEFAULT_ORDERS): number[] {
  return orders.map((order) => noiseMultipliers.reduce((sum, z) => sum + gaussianRdp(z, order), 0));
}

export interface EpsilonResult {
  epsilon: number;
  /** The order that gave the smallest ε (useful to check that the grid is wide enough). */
  order: number;
}

/** Smallest ε over the orders for a target δ (the conversion in the module comment). */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): EpsilonResult {
  if (orders.length !== rdp.length || orders.length === 0) throw new RangeError('orders and RDP values must be non-empty and of the same length');
  if (!(delta >= 0 && delta < 1)) throw new RangeError(`δ must be in [0, 1) (got ${delta})`);
  if (delta === 0) return { epsilon: rdp.every((r) => r === 0) ? 0 : Infinity, order: orders[0]! };
  let best: EpsilonResult = { epsilon: Infinity, order: orders[0]! };
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const r = rdp[i]!;
    if (!(a >= 1)) throw new RangeError(`a Rényi order must be at least 1 (got ${a})`);
    if (!(r >= 0)) throw new RangeError(`an RDP value must be non-negative (got ${r})`);
    let epsilon: number;
    if (delta * delta + Math.expm1(-r) > 0) epsilon = 0;
    else if (a > 1.01) epsilon = r + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    else epsilon = Infinity;
    if (epsilon < best.epsilon) best = { epsilon, order: a };
  }
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

export interface DeltaResult {
  delta: number;
  order: number;
}

/** Smallest δ over the orders for a target ε: the same bound solved for δ, in log space. */
export function deltaFromRdp(orders: readonly number[], rdp: readonly number[], epsilon: number): DeltaResult {
  if (orders.length !== rdp.length || orders.length === 0) throw new RangeError('orders and RDP values must be non-empty and of the same length');
  if (!(epsilon >= 0)) throw new RangeError(`ε must be non-negative (got ${epsilon})`);
  let best: DeltaResult = { delta: 1, order: orders[0]! };
  let bestLog = Infinity;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i]!;
    const r = rdp[i]!;
    if (!(a >= 1)) throw new RangeError(`a Rényi order must be at least 1 (got ${a})`);
    if (!(r >= 0)) throw new RangeError(`an RDP value must be non-negative (got ${r})`);
    let logDelta = r === 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-r));
    if (a > 1.01) logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    if (logDelta < bestLog) {
      bestLog = logDelta;
      best = { delta: Math.min(1, Math.exp(logDelta)), order: a };
    }
  }
  return best;
}

/** ε at δ after `releases` exports, each with noise multiplier z (sensitivity-normalised). */
export function gaussianEpsilon(noiseMultiplier: number, releases: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (!(Number.isInteger(releases) && releases >= 0)) throw new RangeError(`the number of releases must be a non-negative integer (got ${releases})`);
  if (releases === 0) return 0;
  const rdp = orders.map((order) => releases * gaussianRdp(noiseMultiplier, order));
  return epsilonFromRdp(orders, rdp, delta).epsilon;
}

/** ε spent by a history of exports with possibly different multipliers (each already sensitivity-normalised). */
export function epsilonSpent(noiseMultipliers: readonly number[], delta: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (noiseMultipliers.length === 0) return 0;
  return epsilonFromRdp(orders, composedGaussianRdp(noiseMultipliers, orders), delta).epsilon;
}

/**
 * The smallest noise multiplier (to a relative 1e-6) whose `releases` exports stay within
 * (ε, δ); the answer errs on the noisy side so the target is never exceeded. ε is decreasing in z,
 * so bisection on log z suffices.
 */
export function noiseForEpsilon(epsilon: number, delta: number, releases: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (!(epsilon > 0 && Number.isFinite(epsilon))) throw new RangeError(`target ε must be positive and finite (got ${epsilon})`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1) (got ${delta})`);
  if (!(Number.isInteger(releases) && releases >= 1)) throw new RangeError(`the number of releases must be a positive integer (got ${releases})`);
  let low = 1e-4;
  let high = 1e5;
  if (gaussianEpsilon(high, releases, delta, orders) > epsilon) {
    throw new RangeError(`ε = ${epsilon} at δ = ${delta} over ${releases} releases needs more noise than this accountant handles`);
  }
  if (gaussianEpsilon(low, releases, delta, orders) <= epsilon) return low;
  while (high / low > 1 + 1e-6) {
    const mid = Math.sqrt(low * high);
    if (gaussianEpsilon(mid, releases, delta, orders) <= epsilon) high = mid;
    else low = mid;
  }
  return high;
}

/**
 * erfc with relative error below 1.2e-7 over the whole real line (the Chebyshev fit of Press et al.,
 * Numerical Recipes §6.2): relative, not absolute, accuracy matters because δ lives in the tail.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(-z * z + poly);
  return x >= 0 ? value : 2 - value;
}

/** Standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/**
 * Exact δ(ε) of one Gaussian release with noise multiplier z (Balle & Wang 2018, Thm. 8):
 * δ = Φ(1/(2z) − εz) − e^ε Φ(−1/(2z) − εz). For k releases pass z/√k.
 */
export function analyticGaussianDelta(epsilon: number, noiseMultiplier: number): number {
  const z = noiseMultiplier;
  const a = 1 / (2 * z);
  return Math.max(0, normalCdf(a - epsilon * z) - Math.exp(epsilon) * normalCdf(-a - epsilon * z));
}

/** Exact ε at δ of one Gaussian release (bisection on the decreasing δ(ε)). For k releases pass z/√k. */
export function analyticGaussianEpsilon(noiseMultiplier: number, delta: number): number {
  if (analyticGaussianDelta(0, noiseMultiplier) <= delta) return 0;
  let low = 0;
  let high = 1;
  while (analyticGaussianDelta(high, noiseMultiplier) > delta) high *= 2;
  for (let i = 0; i < 100 && high - low > 1e-12; i++) {
    const mid = (low + high) / 2;
    if (analyticGaussianDelta(mid, noiseMultiplier) > delta) low = mid;
    else high = mid;
  }
  return high;
}
