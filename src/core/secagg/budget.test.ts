import { describe, expect, it } from 'vitest';
import { DEFAULT_LIFETIME_EPSILON, parseDeploymentConfig } from '../deployment';
import { distributedEpsilon } from './accountant';
import { budgetStatus } from './budget';
import type { DistributedNoiseSettings } from './encode';

/** The accountant over rounds of these multipliers, the smallest bounding them all (as engine/contribute.ts composes). */
const accountant =
  (settings: Omit<DistributedNoiseSettings, 'noiseMultiplier'>, dimension: number) =>
  (multipliers: readonly number[]): number =>
    distributedEpsilon({ ...settings, noiseMultiplier: Math.min(...multipliers) }, multipliers.length, 1e-5, dimension);

describe('budgetStatus', () => {
  it('composes the rounds joined with the accountant (not a sum of per-round ε) and admits a round only within the limit', () => {
    // A fake accountant that is not additive: ε = √rounds / σ.
    const epsilonOf = (m: readonly number[]) => Math.sqrt(m.length) / Math.min(...m);
    expect(budgetStatus(2, [], 1, epsilonOf)).toEqual({ limit: 2, spent: 0, remaining: 2, next: 1, allowsNext: true });
    expect(budgetStatus(2, [1, 1, 1], 1, epsilonOf)).toMatchObject({ spent: Math.sqrt(3), next: 2, allowsNext: true });
    expect(budgetStatus(2, [1, 1, 1, 1], 1, epsilonOf)).toMatchObject({ spent: 2, remaining: 0, next: Math.sqrt(5), allowsNext: false });
    // A weaker round (smaller σ) costs more: refused where the usual one would fit.
    expect(budgetStatus(2, [1, 1], 0.5, epsilonOf).allowsNext).toBe(false);
    // Spent beyond the limit (a lower limit in a new build): remaining is 0, not negative.
    expect(budgetStatus(1, [1, 1, 1, 1], 1, epsilonOf)).toMatchObject({ remaining: 0, allowsNext: false });
  });

  it('admits exactly k rounds when the limit is the ε of k rounds (floating point does not cost a round)', () => {
    const epsilonOf = accountant({ clipNorm: 1, expectedCohort: 100, dropoutTolerance: 1 / 3, bits: 32 }, 346_384);
    const limit = epsilonOf([1, 1, 1]);
    expect(budgetStatus(limit, [1, 1], 1, epsilonOf).allowsNext).toBe(true);
    expect(budgetStatus(limit, [1, 1, 1], 1, epsilonOf).allowsNext).toBe(false);
  });

  it('refuses a limit that is no budget', () => {
    for (const limit of [0, -1, Infinity, NaN]) expect(() => budgetStatus(limit, [], 1, () => 1)).toThrow(RangeError);
  });

  it('with the defaults (z = 1, C = 1, a cohort of 100, the app’s delta) a device joins 3 rounds (docs/secure-aggregation.md)', () => {
    const noise = parseDeploymentConfig({ aggregator: { origin: 'https://agg.example' } }).aggregator!.noise;
    expect(noise.lifetimeEpsilon).toBe(DEFAULT_LIFETIME_EPSILON);
    const epsilonOf = accountant(
      { clipNorm: noise.clipNorm, expectedCohort: noise.expectedCohort, dropoutTolerance: noise.dropoutTolerance, bits: 32 },
      346_384,
    );
    const joined: number[] = [];
    while (budgetStatus(noise.lifetimeEpsilon, joined, noise.noiseMultiplier, epsilonOf).allowsNext) joined.push(noise.noiseMultiplier);
    expect(joined).toHaveLength(3);
    expect(epsilonOf(joined)).toBeCloseTo(9.01, 2);
  });
});
