import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ORDERS,
  analyticGaussianDelta,
  analyticGaussianEpsilon,
  deltaFromRdp,
  epsilonFromRdp,
  erfc,
  gaussianEpsilon,
  gaussianRdp,
  noiseForEpsilon,
} from './accountant';
import { DEFAULT_FEDERATED_SETTINGS, checkBudget, exportsRemaining, federatedSettingsSchema } from './settings';

/*
 * Reference values. They come from the test suites of the two reference RDP accountants, read
 * (not copied) from their repositories:
 *  - TensorFlow Privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py:
 *    test_compute_rdp_no_sampling, test_get_privacy_spent_check_target_delta / _eps;
 *  - Google dp_accounting, python/dp_accounting/rdp/rdp_privacy_accountant_test.py:
 *    test_compute_rdp_gaussian, test_compute_epsilon_delta_pure_dp, test_compute_epsilon_delta_gaussian,
 *    test_delta_bounds_gaussian.
 * Both use the same improved RDP → (ε, δ) conversion as ours, so the numbers must agree closely.
 */
describe('accountant: published reference values', () => {
  it('RDP of the non-subsampled Gaussian is α / (2σ²) (TF Privacy: q = 1, σ = 10, α = 20 → 0.1)', () => {
    expect(gaussianRdp(10, 20)).toBeCloseTo(0.1, 12);
    expect(gaussianRdp(2.71828, 3.14159)).toBeCloseTo(3.14159 / (2 * 2.71828 ** 2), 12);
  });

  it('constant RDP 1.1 on orders 2..32 gives ε = 1.32783806176 at δ = 1e-5, at order 32, and back', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const rdp = orders.map(() => 1.1);
    const { epsilon, order } = epsilonFromRdp(orders, rdp, 1e-5);
    expect(epsilon).toBeCloseTo(1.32783806176, 7);
    expect(order).toBe(32);
    const back = deltaFromRdp(orders, rdp, 1.32783806176);
    expect(back.delta).toBeCloseTo(1e-5, 12);
    expect(back.order).toBe(32);
  });

  it('σ = 4.530877117, one release, orders 1.000..99.999 step 0.001 gives exactly (1, 1e-6)', () => {
    const orders = Array.from({ length: 99_000 }, (_, i) => 0.001 * (1000 + i));
    const rdp = orders.map((order) => gaussianRdp(4.530877117, order));
    expect(epsilonFromRdp(orders, rdp, 1e-6).epsilon).toBeCloseTo(1, 7);
    expect(deltaFromRdp(orders, rdp, 1).delta).toBeCloseTo(1e-6, 12);
    // Our coarser default grid loses almost nothing.
    expect(gaussianEpsilon(4.530877117, 1, 1e-6)).toBeCloseTo(1, 5);
  });

  it('σ = 1: δ from RDP lies between the exact Gaussian δ and the standard bound exp(−(ε − ½)² / 2)', () => {
    const orders = Array.from({ length: 495 }, (_, i) => 0.1 * (i + 10));
    const rdp = orders.map((order) => gaussianRdp(1, order));
    for (let k = 0; k < 500; k++) {
      const eps = 0.1 * k;
      const { delta } = deltaFromRdp(orders, rdp, eps);
      expect(analyticGaussianDelta(eps, 1)).toBeLessThanOrEqual(delta * (1 + 1e-6) + 1e-300);
      expect(delta).toBeLessThanOrEqual((eps >= 0.5 ? Math.exp(-0.5 * (eps - 0.5) ** 2) : 1) + 1e-300);
    }
  });
});

describe('accountant: sanity against the exact Gaussian mechanism', () => {
  it('erfc is accurate in the tail (relative error < 2e-7)', () => {
    // Reference values of erfc from Abramowitz & Stegun Table 7.1 / mpmath.
    const table: [number, number][] = [
      [0, 1],
      [0.5, 0.4795001221869535],
      [1, 0.15729920705028513],
      [2, 0.004677734981047266],
      [3, 2.209049699858544e-5],
      [5, 1.5374597944280349e-12],
      [-1, 1.8427007929497148],
    ];
    for (const [x, want] of table) expect(Math.abs(erfc(x) / want - 1)).toBeLessThan(2e-7);
  });

  it('never reports less than the exact ε, and is within 12% of it, for 1..50 exports', () => {
    for (const sigma of [1, 2, 5, 10]) {
      for (const k of [1, 5, 20, 50]) {
        const rdp = gaussianEpsilon(sigma, k, 1e-5);
        const exact = analyticGaussianEpsilon(sigma / Math.sqrt(k), 1e-5); // k Gaussians = one with σ/√k
        expect(rdp).toBeGreaterThanOrEqual(exact);
        expect(rdp / exact).toBeLessThan(1.12);
      }
    }
  });

  it('grows with the number of exports and shrinks with noise', () => {
    expect(gaussianEpsilon(5, 0, 1e-5)).toBe(0);
    expect(gaussianEpsilon(5, 2, 1e-5)).toBeGreaterThan(gaussianEpsilon(5, 1, 1e-5));
    expect(gaussianEpsilon(6, 2, 1e-5)).toBeLessThan(gaussianEpsilon(5, 2, 1e-5));
    expect(gaussianEpsilon(0, 1, 1e-5)).toBe(Infinity);
  });

  it('the default grid is wide enough: the best order is never at its edge in the useful range', () => {
    for (const sigma of [0.5, 1, 5, 50]) {
      const rdp = DEFAULT_ORDERS.map((order) => gaussianRdp(sigma, order));
      const { order } = epsilonFromRdp(DEFAULT_ORDERS, rdp, 1e-5);
      expect(order).toBeGreaterThan(DEFAULT_ORDERS[0]!);
      expect(order).toBeLessThan(DEFAULT_ORDERS[DEFAULT_ORDERS.length - 1]!);
    }
  });

  it('finds the noise for a target ε, on the safe side', () => {
    for (const [eps, k] of [
      [1, 1],
      [3, 10],
      [8, 100],
    ] as const) {
      const sigma = noiseForEpsilon(eps, 1e-5, k);
      expect(gaussianEpsilon(sigma, k, 1e-5)).toBeLessThanOrEqual(eps);
      expect(gaussianEpsilon(sigma * 0.999, k, 1e-5)).toBeGreaterThan(eps);
    }
    expect(noiseForEpsilon(1, 1e-5, 1)).toBeCloseTo(4.045, 2);
  });
});

describe('settings and budget', () => {
  it('defaults: C = 1, σ = 5, δ = 1e-5, ε budget 3 → 11 exports', () => {
    expect(DEFAULT_FEDERATED_SETTINGS).toMatchObject({ clipNorm: 1, noiseMultiplier: 5, delta: 1e-5, epsilonBudget: 3 });
    expect(gaussianEpsilon(5, 1, 1e-5)).toBeCloseTo(0.795, 2);
    expect(gaussianEpsilon(5, 10, 1e-5)).toBeCloseTo(2.814, 2);
    expect(exportsRemaining(DEFAULT_FEDERATED_SETTINGS, [])).toBe(11);
    expect(exportsRemaining(DEFAULT_FEDERATED_SETTINGS, [5, 5, 5])).toBe(8);
  });

  it('refuses an export past the budget and settings that switch the noise off', () => {
    const check = checkBudget(
      DEFAULT_FEDERATED_SETTINGS,
      Array.from({ length: 11 }, () => 5),
    );
    expect(check.allowed).toBe(false);
    expect(check.after).toBeGreaterThan(3);
    expect(federatedSettingsSchema.safeParse({ noiseMultiplier: 0 }).success).toBe(false);
    expect(federatedSettingsSchema.safeParse({ delta: 0.1 }).success).toBe(false);
  });

  it('replace-one halves the effective noise and so spends more', () => {
    const replace = federatedSettingsSchema.parse({ relation: 'replace-one' });
    expect(checkBudget(replace, []).after).toBeCloseTo(gaussianEpsilon(2.5, 1, 1e-5), 10);
  });
});
