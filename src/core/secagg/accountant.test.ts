import { describe, expect, it } from 'vitest';
import { gaussianEpsilon, noiseForEpsilon } from '../federated/accountant';
import { distributedBound, distributedDiscreteGaussianRdp, distributedEpsilon, distributedTau, noiseMultiplierForEpsilon } from './accountant';
import { encodingReport, type DistributedNoiseSettings } from './encode';

const APP_DELTA = 346_384; // W, q, b of the shipped layout (NOTES-B-D)
const DELTA = 1e-5;

function bench(noiseMultiplier: number, overrides: Partial<DistributedNoiseSettings> = {}): DistributedNoiseSettings {
  return { clipNorm: 1, noiseMultiplier, expectedCohort: 943, dropoutTolerance: 1 / 3, bits: 32, ...overrides };
}

describe('distributed discrete Gaussian accountant', () => {
  it('τ = 10·Σ_{k<n} exp(−2π²σ²k/(k+1)): zero for one share, vanishing for large σ', () => {
    expect(distributedTau(0.5, 1)).toBe(0);
    expect(distributedTau(0.5, 2)).toBeCloseTo(10 * Math.exp(-2 * Math.PI ** 2 * 0.25 * 0.5), 12);
    expect(distributedTau(0.8, 100)).toBeCloseTo(0.02645931952169145, 14);
    expect(distributedTau(3, 1000)).toBeLessThan(1e-37);
    expect(distributedTau(1e5, 1000)).toBe(0);
  });

  it("one device (τ = 0) is the discrete Gaussian, whose RDP is the continuous Gaussian's at σ/Δ₂ (Canonne, Kamath & Steinke 2020)", () => {
    for (const z of [0.7, 1.5, 4]) {
      const s = bench(z, { expectedCohort: 1, dropoutTolerance: 0, scale: 50 });
      const report = encodingReport(s, 200);
      for (const rounds of [1, 10]) {
        expect(distributedEpsilon(s, rounds, DELTA, 200)).toBeCloseTo(gaussianEpsilon(z / report.sensitivity, rounds, DELTA), 10);
      }
    }
  });

  it.each([
    [0.5, 1],
    [1, 1],
    [2, 1],
    [0.5, 10],
    [1, 10],
    [2, 10],
  ])('at the bench setting (n = 943, app delta) z = %s over %i round(s) matches the continuous Gaussian to 10⁻⁵', (z, rounds) => {
    const eps = distributedEpsilon(bench(z), rounds, DELTA, APP_DELTA);
    const continuous = gaussianEpsilon(z, rounds, DELTA);
    expect(eps).toBeGreaterThanOrEqual(continuous); // rounding only adds sensitivity
    expect(eps / continuous - 1).toBeLessThan(1e-5);
  });

  it('quotes the bench figures (ε at δ = 10⁻⁵ for n = 943)', () => {
    const figures = [0.5, 1, 2].map((z) => [distributedEpsilon(bench(z), 1, DELTA, APP_DELTA), distributedEpsilon(bench(z), 10, DELTA, APP_DELTA)]);
    expect(figures.map(([one, ten]) => [Number(one!.toFixed(2)), Number(ten!.toFixed(2))])).toEqual([
      [10.73, 48.8],
      [4.73, 19.05],
      [2.17, 8.08],
    ]);
  });

  /**
   * Reference values: a Python transcription of the paper authors' accounting
   * (google-research/federated, distributed_dp/accounting_utils.py, ddgauss_epsilon with q = 1: rounded L2 and L1
   * bounds, τ, Proposition 14's three terms, integer orders 2..128 and 256, the same RDP → (ε, δ) conversion)
   * for n = 100 devices, d = 1,024, C = 1, γ = 8 (a coarse grid where τ matters), local σ in integer units.
   * This checks the port against the authors' formula, not an independent derivation of it.
   */
  it.each([
    [0.8, 1, 17.352790523891375],
    [1.0, 1, 10.018684185082646],
    [1.5, 1, 6.07495081935838],
    [1.0, 10, 44.90658247078201],
    [3.0, 10, 10.535024813376227],
  ])("matches the authors' accounting at local σ = %s (integer units), %i round(s): ε = %f", (sigmaInt, rounds, expected) => {
    const orders = [...Array.from({ length: 127 }, (_, i) => i + 2), 256];
    const s = bench((sigmaInt * 10) / 8, { expectedCohort: 100, dropoutTolerance: 0, scale: 8 });
    expect(distributedEpsilon(s, rounds, DELTA, 1024, { orders })).toBeCloseTo(expected, 9);
  });

  it("small shares cost privacy: with τ > 0 ε exceeds the continuous Gaussian's at the same total noise", () => {
    const s = bench((0.8 * 10) / 8, { expectedCohort: 100, dropoutTolerance: 0, scale: 8 });
    const bound = distributedBound(s, 1024);
    const continuousZ = (Math.sqrt(100) * bound.sigma) / bound.l2Sensitivity;
    expect(distributedEpsilon(s, 1, DELTA, 1024)).toBeGreaterThan(gaussianEpsilon(continuousZ, 1, DELTA) * 1.25);
    expect(distributedDiscreteGaussianRdp(bound, 8)).toBeGreaterThan(8 / (2 * continuousZ ** 2));
  });

  it('uses the guaranteed minimum of noise: n_min shares, not n (the test fails if the accountant trusted all n)', () => {
    const z = 1;
    const eps = distributedEpsilon(bench(z), 1, DELTA, APP_DELTA);
    const optimistic = gaussianEpsilon(z * Math.sqrt(943 / 628), 1, DELTA);
    expect(eps).toBeGreaterThan(optimistic * 1.2);
  });

  it('is decreasing in z and increasing in rounds; replace-one costs like half the noise; z = 0 is unbounded', () => {
    let previous = Infinity;
    for (const z of [0.3, 0.5, 0.8, 1, 1.5, 2, 3, 5, 10]) {
      const eps = distributedEpsilon(bench(z), 3, DELTA, APP_DELTA);
      expect(eps).toBeLessThan(previous);
      previous = eps;
    }
    let last = 0;
    for (const rounds of [1, 2, 5, 10, 50]) {
      const eps = distributedEpsilon(bench(1), rounds, DELTA, APP_DELTA);
      expect(eps).toBeGreaterThan(last);
      last = eps;
    }
    expect(distributedEpsilon(bench(2), 1, DELTA, APP_DELTA, { relation: 'replace-one' })).toBeCloseTo(gaussianEpsilon(1, 1, DELTA), 4);
    expect(distributedEpsilon(bench(0), 1, DELTA, APP_DELTA)).toBe(Infinity);
    expect(distributedEpsilon(bench(1), 0, DELTA, APP_DELTA)).toBe(0);
    // Coarse grids (small γ) are monotone too: the default γ shrinks as z grows, and the bound must still fall.
    let coarse = Infinity;
    for (const z of [0.5, 1, 2, 4, 8]) {
      const eps = distributedEpsilon(bench(z, { expectedCohort: 50, scale: 3 }), 1, DELTA, 256);
      expect(eps).toBeLessThan(coarse);
      coarse = eps;
    }
  });

  it('noiseMultiplierForEpsilon finds the smallest z within the budget (the bench asks "z for ε over R rounds")', () => {
    const base = { clipNorm: 1, expectedCohort: 943, dropoutTolerance: 1 / 3, bits: 32 as const };
    for (const [target, rounds] of [
      [8, 10],
      [1, 10],
      [8, 1],
    ] as const) {
      const z = noiseMultiplierForEpsilon(target, DELTA, rounds, base, APP_DELTA);
      expect(distributedEpsilon({ ...base, noiseMultiplier: z }, rounds, DELTA, APP_DELTA)).toBeLessThanOrEqual(target);
      expect(distributedEpsilon({ ...base, noiseMultiplier: z * (1 - 1e-5) }, rounds, DELTA, APP_DELTA)).toBeGreaterThan(target);
      expect(z / noiseForEpsilon(target, DELTA, rounds) - 1).toBeLessThan(1e-4);
    }
    expect(() => noiseMultiplierForEpsilon(0, DELTA, 1, base, APP_DELTA)).toThrow(RangeError);
  });
});
