/**
 * Secure aggregation: a round's public parameters, their validation and defaults, and the protocol's error type.
 *
 * Hand-written (no maintained package does this part): the choice of the neighbour degree k and of the
 * per-neighbourhood Shamir threshold t_local. The reasoning and the guarantees that follow are in the comments of
 * `defaultNeighbours` and `localThreshold`; docs/ quotes them.
 */

/** Every refusal of the protocol (bad parameters, bad messages, out-of-order calls, too few survivors, tampered shares). */
export class SecAggError extends Error {
  override name = 'SecAggError';
}

export interface RoundParams {
  /** Public, 1..100 chars [A-Za-z0-9_-]; binds every key, mask and share to this round. */
  roundId: string;
  /** n: devices that advertised keys, indices 0..n-1 in order of registration. */
  cohortSize: number;
  /** t: the fewest devices whose masked vectors may be summed and decoded; t > n/2 (default ceil(2n/3)). */
  threshold: number;
  /** k: SecAgg+ degree of the neighbour graph; even and 2 <= k <= n-2, or k = n-1 (complete graph = classic SecAgg). */
  neighbours: number;
  /** L: number of u32 entries summed. */
  vectorLength: number;
}

export const ROUND_ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
/** Shamir over GF(2^8) (shamir-secret-sharing) makes at most 255 shares: a device shares to its k neighbours. */
export const MAX_NEIGHBOURS = 254;
export const MIN_COHORT = 3;
export const MAX_COHORT = 100_000;
export const MAX_VECTOR_LENGTH = 2 ** 24;

/**
 * Default SecAgg+ degree: k = min(n-1, 4*ceil(log2 n)) (n=30: 20, n=100: 28, n=1000: 40, n=10^4: 56).
 * Why O(log n): Bell et al. (CCS 2020) show a random k-regular graph with k = O(log n) keeps, with high probability,
 * (a) every neighbourhood with enough survivors to reconstruct (correctness under dropouts) and (b) no neighbourhood
 * with t_local corrupt members, and the honest survivors connected (privacy). The constant 4 is ours: it keeps
 * t_local (below) at about a third of k or more for the default threshold, so both margins are several standard
 * deviations wide for n up to 10^4 (see `localThreshold`). A device's cost grows with k, not n.
 */
export function defaultNeighbours(n: number): number {
  return Math.min(n - 1, 4 * Math.ceil(Math.log2(n)));
}

/** Default threshold: ceil(2n/3) survivors, i.e. up to a third of the cohort may drop. */
export function defaultThreshold(n: number): number {
  return Math.max(Math.floor(n / 2) + 1, Math.ceil((2 * n) / 3));
}

/**
 * t_local: how many of a device's k neighbours must answer to rebuild its self-mask seed b_i (if it survived) or its
 * mask secret key s_i (if it dropped). Each secret is Shamir-shared to the k neighbours with this threshold.
 *
 * - Complete graph (k = n-1, classic SecAgg of Bonawitz et al.): t_local = t-1, the global threshold minus the device
 *   itself (it holds no share of its own secrets), so any round with >= t survivors has >= t-1 answering neighbours
 *   for every secret it needs.
 * - Sparse graph: when exactly t of n devices survive, a neighbourhood's survivor count is hypergeometric with mean
 *   k*p, p = (t-1)/(n-1), and variance k*p*(1-p)*(n-1-k)/(n-2). t_local sits four standard deviations below that
 *   mean (floored), so a random dropout pattern that the global threshold allows leaves some neighbourhood short with
 *   probability about n * 3e-5 at the very threshold (far less with fewer dropouts). When it does happen, decoding
 *   refuses (SecAggError): the round is abandoned, never decoded wrongly.
 * - Clamped to [2, k] (Shamir needs two shares).
 *
 * Guarantees (honest-but-curious server): the server together with fewer than t_local devices cannot rebuild any
 * honest device's seeds, so it learns only sums over connected groups of honest survivors (the client refuses to
 * unmask unless the survivors' graph is connected). Defaults: n=30: k=20, t_local=8; n=100: k=28, t_local=10;
 * n=1000: k=40, t_local=14. Dropouts tolerated: up to n-t globally and k-t_local in any one neighbourhood.
 */
export function localThreshold(params: Pick<RoundParams, 'cohortSize' | 'threshold' | 'neighbours'>): number {
  const n = params.cohortSize;
  const k = params.neighbours;
  const t = params.threshold;
  if (k >= n - 1) return Math.max(2, t - 1);
  const p = (t - 1) / (n - 1);
  const mean = k * p;
  const variance = (k * p * (1 - p) * (n - 1 - k)) / (n - 2);
  return Math.min(k, Math.max(2, Math.floor(mean - 4 * Math.sqrt(variance))));
}

/** Parameters with the defaults filled in; validated. */
export function roundParams(options: { roundId: string; cohortSize: number; vectorLength: number; threshold?: number; neighbours?: number }): RoundParams {
  const params: RoundParams = {
    roundId: options.roundId,
    cohortSize: options.cohortSize,
    vectorLength: options.vectorLength,
    threshold: options.threshold ?? defaultThreshold(options.cohortSize),
    neighbours: options.neighbours ?? defaultNeighbours(options.cohortSize),
  };
  validateParams(params);
  return params;
}

const isInt = (x: unknown, lo: number, hi: number): x is number => Number.isInteger(x) && (x as number) >= lo && (x as number) <= hi;

/** Throws SecAggError when the parameters are outside what the protocol supports (what a device checks before it shares). */
export function validateParams(params: RoundParams): void {
  if (typeof params.roundId !== 'string' || !ROUND_ID_PATTERN.test(params.roundId)) {
    throw new SecAggError('roundId must be 1 to 100 characters of A-Z, a-z, 0-9, _ or -');
  }
  const n = params.cohortSize;
  if (!isInt(n, MIN_COHORT, MAX_COHORT)) throw new SecAggError(`cohortSize must be an integer from ${MIN_COHORT} to ${MAX_COHORT}`);
  if (!isInt(params.threshold, Math.floor(n / 2) + 1, n)) {
    throw new SecAggError(`threshold must be an integer above n/2 and at most n (n = ${n}), got ${params.threshold}`);
  }
  const k = params.neighbours;
  const complete = k === n - 1;
  if (!isInt(k, 2, Math.min(n - 1, MAX_NEIGHBOURS)) || (!complete && k % 2 !== 0)) {
    throw new SecAggError(`neighbours must be n-1 or an even integer from 2 to min(n-2, ${MAX_NEIGHBOURS}), got ${k}`);
  }
  if (!isInt(params.vectorLength, 1, MAX_VECTOR_LENGTH)) {
    throw new SecAggError(`vectorLength must be an integer from 1 to ${MAX_VECTOR_LENGTH}`);
  }
}
