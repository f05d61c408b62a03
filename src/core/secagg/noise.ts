/**
 * The discrete Gaussian N_Z(0, σ²): P[X = x] ∝ exp(−x²/(2σ²)) on the integers, sampled by the
 * rejection sampler of Canonne, Kamath & Steinke ("The Discrete Gaussian for Differential Privacy",
 * NeurIPS 2020, Algorithms 1–3). Written by hand: no maintained JS package samples it, and the
 * distributed noise of secure aggregation needs it (each device adds a share; the sum of shares is
 * close to a discrete Gaussian, Kairouz, Liu & Steinke 2021).
 *
 * Why this sampler and not round(σ·N(0,1)): a rounded continuous Gaussian is not a discrete Gaussian,
 * and its privacy analysis does not hold; CKS's sampler draws from the exact distribution given exact
 * Bernoulli trials, and its output is an integer, so there are no floating-point gaps to exploit
 * (Mironov 2012's attack on the floating-point Laplace). Here the Bernoulli trials compare a 53-bit
 * uniform with a double probability, and every probability CKS feed a trial is a ratio of small
 * numbers (γ/K, 1/2) computed to within 1 ulp: each trial is off by at most ~2⁻⁵², so the sample's
 * law is within ~2⁻⁴⁵ in total variation of the discrete Gaussian for any σ used here. We keep CKS's
 * Bernoulli(exp(−γ)) by the series method (Algorithm 1) rather than calling Math.exp: no transcendental
 * function is evaluated, and exactness rests on the uniform source and one rounding per ratio.
 *
 * Randomness: `Uniform` (53-bit doubles in [0, 1)); production passes cryptoUniform()
 * (crypto.getRandomValues), tests a seeded source. A seeded source must never noise a real upload.
 */
import { cryptoUniform, type Uniform } from '../federated/random';

/** Bernoulli(p) for p in [0, 1]. */
function bernoulli(p: number, uniform: Uniform): boolean {
  return uniform() < p;
}

/**
 * Bernoulli(exp(−γ)) for γ ≥ 0 (CKS Algorithm 1). For γ in [0, 1]: draw A_k ~ Bernoulli(γ/k) for
 * k = 1, 2, … until one fails; K = that k; return K odd. P[K odd] = Σ_k odd (γ^(k−1)/(k−1)! − γ^k/k!)
 * = e^(−γ). For γ > 1: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)), each factor an independent trial.
 */
export function bernoulliExpMinus(gamma: number, uniform: Uniform): boolean {
  if (!(gamma >= 0) || !Number.isFinite(gamma)) throw new RangeError(`Bernoulli(exp(−γ)) needs a finite γ ≥ 0 (got ${gamma})`);
  let rest = gamma;
  while (rest > 1) {
    if (!bernoulliExpMinusAtMostOne(1, uniform)) return false;
    rest -= 1;
  }
  return bernoulliExpMinusAtMostOne(rest, uniform);
}

function bernoulliExpMinusAtMostOne(gamma: number, uniform: Uniform): boolean {
  let k = 1;
  while (bernoulli(gamma / k, uniform)) k++;
  return k % 2 === 1;
}

/** Uniform integer in {0, …, t − 1} for t < 2³². */
function uniformInt(t: number, uniform: Uniform): number {
  // floor(u·t) with u a multiple of 2⁻⁵³: each value gets ⌊2⁵³/t⌋ or ⌈2⁵³/t⌉ of the 2⁵³ points,
  // a relative error below t/2⁵³ (< 2⁻²¹ for t < 2³²), far under the sampler's other rounding.
  return Math.floor(uniform() * t);
}

/**
 * Discrete Laplace with scale t (a positive integer): P[Y = y] ∝ exp(−|y|/t) (CKS Algorithm 2 with s = 1).
 * U uniform on {0..t−1} accepted with probability exp(−U/t), plus t·V with V geometric(1 − e^(−1)),
 * a random sign, and −0 rejected so that 0 is not counted twice.
 */
export function sampleDiscreteLaplace(t: number, uniform: Uniform): number {
  if (!(Number.isInteger(t) && t >= 1 && t < 2 ** 32)) throw new RangeError(`the discrete Laplace scale must be an integer in [1, 2³²) (got ${t})`);
  for (;;) {
    const u = uniformInt(t, uniform);
    if (!bernoulliExpMinus(u / t, uniform)) continue;
    let v = 0;
    while (bernoulliExpMinus(1, uniform)) v++;
    const x = u + t * v;
    const negative = bernoulli(0.5, uniform);
    if (negative && x === 0) continue;
    return negative ? -x : x;
  }
}

/** A sampler of N_Z(0, σ²) with its constants precomputed (many draws of the same σ: a device's whole vector). */
export function discreteGaussianSampler(sigma: number, uniform: Uniform = cryptoUniform()): () => number {
  if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new RangeError(`σ must be finite and non-negative (got ${sigma})`);
  if (sigma === 0) return () => 0;
  if (sigma >= 2 ** 31) throw new RangeError(`σ = ${sigma} is beyond the sampler's integer range (< 2³¹)`);
  // CKS Algorithm 3: propose from the discrete Laplace of scale t = ⌊σ⌋ + 1 and accept with probability
  // exp(−(|Y| − σ²/t)² / (2σ²)); the expected number of proposals is a small constant for every σ (CKS §5.3).
  const t = Math.floor(sigma) + 1;
  const variance = sigma * sigma;
  const shift = variance / t;
  return () => {
    for (;;) {
      const y = sampleDiscreteLaplace(t, uniform);
      const gap = Math.abs(y) - shift;
      if (bernoulliExpMinus((gap * gap) / (2 * variance), uniform)) return y;
    }
  };
}

/** One draw of N_Z(0, σ²). For many draws use discreteGaussianSampler (same law, constants computed once). */
export function sampleDiscreteGaussian(sigma: number, uniform: Uniform = cryptoUniform()): number {
  return discreteGaussianSampler(sigma, uniform)();
}

/**
 * Exact probability mass function of N_Z(0, σ²) at x, by summing the normaliser Σ_y exp(−y²/(2σ²))
 * over |y| ≤ σ·40 (the rest is below e⁻⁸⁰⁰ of it). For tests and small σ; costs O(σ).
 */
export function discreteGaussianPmf(sigma: number, x: number): number {
  if (!(sigma > 0)) throw new RangeError(`σ must be positive (got ${sigma})`);
  return Math.exp(-(x * x) / (2 * sigma * sigma)) / discreteGaussianNormaliser(sigma);
}

function discreteGaussianNormaliser(sigma: number): number {
  const reach = Math.ceil(40 * sigma) + 1;
  let total = 1;
  for (let y = 1; y <= reach; y++) total += 2 * Math.exp(-(y * y) / (2 * sigma * sigma));
  return total;
}

/**
 * Variance of N_Z(0, σ²): always below σ² (CKS Prop. 19), and equal to it up to ~e^(−2π²σ²) for σ ≥ 1,
 * so the decoder's noise figures use σ² as an upper bound. Summed exactly for σ ≤ 10⁴ (tests), σ² beyond.
 */
export function discreteGaussianVariance(sigma: number): number {
  if (!(sigma >= 0)) throw new RangeError(`σ must be non-negative (got ${sigma})`);
  if (sigma === 0) return 0;
  if (sigma > 1e4) return sigma * sigma;
  const reach = Math.ceil(40 * sigma) + 1;
  let mass = 1;
  let second = 0;
  for (let y = 1; y <= reach; y++) {
    const w = 2 * Math.exp(-(y * y) / (2 * sigma * sigma));
    mass += w;
    second += w * y * y;
  }
  return second / mass;
}
