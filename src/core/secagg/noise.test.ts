import { describe, expect, it } from 'vitest';
import { seededUniform, type Uniform } from '../federated/random';
import { discreteGaussianPmf, discreteGaussianSampler, discreteGaussianVariance, sampleDiscreteLaplace } from './noise';

/** Upper p-quantile of χ²(df) by the Wilson–Hilferty approximation (z = the normal quantile). */
function chiSquareCritical(df: number, z: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/**
 * Pearson χ² of integer samples against a pmf over [−reach, reach], the two tails lumped into one bin each.
 * Returns the statistic and the degrees of freedom.
 */
function chiSquare(samples: Int32Array, pmf: (x: number) => number, reach: number): { statistic: number; df: number } {
  const counts = new Map<number, number>();
  for (const x of samples) {
    const key = Math.max(-reach - 1, Math.min(reach + 1, x));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let inside = 0;
  for (let x = -reach; x <= reach; x++) inside += pmf(x);
  const tail = (1 - inside) / 2;
  let statistic = 0;
  let bins = 0;
  for (let key = -reach - 1; key <= reach + 1; key++) {
    const p = key < -reach || key > reach ? tail : pmf(key);
    const expected = p * samples.length;
    if (expected < 5) continue; // a bin this small would dominate the statistic by chance
    const observed = counts.get(key) ?? 0;
    statistic += (observed - expected) ** 2 / expected;
    bins++;
  }
  return { statistic, df: bins - 1 };
}

function draw(sampler: () => number, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = sampler();
  return out;
}

describe('discrete Gaussian sampler (Canonne, Kamath & Steinke 2020, Algorithm 3)', () => {
  it.each([0.7, 2, 6.5])('matches the exact mass function at σ = %s (χ², 100,000 draws, fixed seed)', (sigma) => {
    const samples = draw(discreteGaussianSampler(sigma, seededUniform(20 + sigma * 10)), 100_000);
    const { statistic, df } = chiSquare(samples, (x) => discreteGaussianPmf(sigma, x), Math.ceil(4 * sigma));
    expect(df).toBeGreaterThanOrEqual(3);
    expect(statistic).toBeLessThan(chiSquareCritical(df, 3.72)); // p = 10⁻⁴
  });

  it('the same test rejects a rounded continuous Gaussian (the test can fail)', () => {
    const sigma = 0.7;
    const uniform = seededUniform(5);
    const rounded = () => Math.round(sigma * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()));
    const { statistic, df } = chiSquare(draw(rounded, 100_000), (x) => discreteGaussianPmf(sigma, x), 3);
    expect(statistic).toBeGreaterThan(chiSquareCritical(df, 3.72));
  });

  it('has mean 0 and variance σ² at the bench scale σ ≈ 9·10⁴ (200,000 draws)', () => {
    const sigma = 89_478.4;
    const count = 200_000;
    const samples = draw(discreteGaussianSampler(sigma, seededUniform(11)), count);
    let sum = 0;
    let squares = 0;
    for (const x of samples) {
      sum += x;
      squares += x * x;
    }
    const mean = sum / count;
    const variance = squares / count - mean * mean;
    expect(Math.abs(mean)).toBeLessThan((4 * sigma) / Math.sqrt(count));
    // The sample variance's relative standard error is √(2/count) ≈ 0.32 %.
    expect(Math.abs(variance / (sigma * sigma) - 1)).toBeLessThan(4 * Math.sqrt(2 / count));
  });

  it('its fourth moment is Gaussian (3σ⁴), not Laplace-like (6σ⁴): the rejection step works', () => {
    const sigma = 40;
    const count = 200_000;
    const samples = draw(discreteGaussianSampler(sigma, seededUniform(3)), count);
    let fourth = 0;
    for (const x of samples) fourth += x ** 4;
    const kurtosis = fourth / count / sigma ** 4;
    expect(kurtosis).toBeGreaterThan(2.9);
    expect(kurtosis).toBeLessThan(3.1);
  });

  it('costs at most 5 uniform draws per sample for σ ≥ 1 (8 at σ = 0.5)', () => {
    for (const sigma of [0.5, 3, 100_000]) {
      let calls = 0;
      const base = seededUniform(9);
      const counted: Uniform = () => {
        calls++;
        return base();
      };
      const sampler = discreteGaussianSampler(sigma, counted);
      for (let i = 0; i < 20_000; i++) sampler();
      expect(calls / 20_000).toBeLessThan(sigma < 1 ? 8 : 5);
    }
  });

  it('σ = 0 gives zeros; invalid σ is refused', () => {
    const zero = discreteGaussianSampler(0, seededUniform(1));
    expect([zero(), zero()]).toEqual([0, 0]);
    expect(() => discreteGaussianSampler(-1, seededUniform(1))).toThrow(RangeError);
    expect(() => discreteGaussianSampler(Number.NaN, seededUniform(1))).toThrow(RangeError);
    expect(() => discreteGaussianSampler(2 ** 31, seededUniform(1))).toThrow(RangeError);
  });

  it('the variance of N_Z(0, σ²) is below σ² and equal to it for σ ≥ 1 (as CKS 2020 show)', () => {
    expect(discreteGaussianVariance(0.5)).toBeLessThan(0.25);
    expect(discreteGaussianVariance(3)).toBeLessThan(9);
    expect(discreteGaussianVariance(3)).toBeCloseTo(9, 9);
    expect(discreteGaussianVariance(0)).toBe(0);
  });
});

describe('discrete Laplace proposal', () => {
  it('P[Y = y] ∝ exp(−|y|/t) (χ², t = 3)', () => {
    const t = 3;
    const uniform = seededUniform(77);
    const samples = draw(() => sampleDiscreteLaplace(t, uniform), 100_000);
    const normaliser = (1 + Math.exp(-1 / t)) / (1 - Math.exp(-1 / t));
    const { statistic, df } = chiSquare(samples, (x) => Math.exp(-Math.abs(x) / t) / normaliser, 12);
    expect(statistic).toBeLessThan(chiSquareCritical(df, 3.72));
  });
});
