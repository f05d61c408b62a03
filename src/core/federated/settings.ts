/**
 * The user-facing privacy knobs of federated export, validated so a corrupted or hand-edited
 * settings record cannot turn the noise off. Defaults: clip C = 1, noise multiplier σ = 5,
 * δ = 1e-5 and a lifetime budget of ε = 3 (add/remove relation), which allows 11 exports:
 * one export costs ε ≈ 0.80, ten cost ≈ 2.81 (see accountant.test.ts for the figures).
 */
import { z } from '../schema';
import { effectiveNoiseMultiplier, epsilonSpent, type NeighbouringRelation } from './accountant';

export const federatedSettingsSchema = z.object({
  /** L2 norm every delta is clipped to; the sensitivity of one export. */
  clipNorm: z._default(z.number().check(z.positive(), z.lte(1e6)), 1),
  /** σ: the noise standard deviation is σ·C on every coordinate. Below 0.5 the guarantee is meaningless. */
  noiseMultiplier: z._default(z.number().check(z.gte(0.5), z.lte(1e4)), 5),
  /** δ of the reported (ε, δ); should be well below 1 / (number of users). */
  delta: z._default(z.number().check(z.positive(), z.lte(1e-3)), 1e-5),
  /** Total ε a user may spend over all exports; an export that would exceed it is refused. */
  epsilonBudget: z._default(z.number().check(z.positive(), z.lte(50)), 3),
  relation: z._default(z.enum(['add-remove', 'replace-one']), 'add-remove'),
  /**
   * Optional per-group clipping (group-clip.ts), e.g. { W: 1, '*': 0 }: where the norm budget C goes.
   * It changes neither the noise nor ε (the whole delta stays within C). Absent: one global clip.
   */
  clipShares: z.optional(
    z.record(z.string().check(z.minLength(1)), z.number().check(z.gte(0), z.lte(1))).check(
      z.refine((shares) => Object.keys(shares).length > 0 && Math.abs(Object.values(shares).reduce((a, b) => a + b, 0) - 1) <= 1e-9, {
        error: 'clip shares must sum to 1',
      }),
    ),
  ),
});

export type FederatedSettings = z.infer<typeof federatedSettingsSchema>;

export const DEFAULT_FEDERATED_SETTINGS: FederatedSettings = federatedSettingsSchema.parse({});

export interface BudgetCheck {
  /** ε spent by the past exports. */
  spent: number;
  /** ε after one more export with the current settings. */
  after: number;
  allowed: boolean;
}

/**
 * Whether one more export fits the budget. `pastMultipliers` are the σ of every earlier export
 * (the settings may have changed between them), as recorded by the caller.
 */
export function checkBudget(settings: FederatedSettings, pastMultipliers: readonly number[]): BudgetCheck {
  const toZ = (sigma: number): number => effectiveNoiseMultiplier(sigma, settings.relation as NeighbouringRelation);
  const past = pastMultipliers.map(toZ);
  const spent = epsilonSpent(past, settings.delta);
  const after = epsilonSpent([...past, toZ(settings.noiseMultiplier)], settings.delta);
  return { spent, after, allowed: after <= settings.epsilonBudget };
}

/** How many more exports the budget allows with the current settings. */
export function exportsRemaining(settings: FederatedSettings, pastMultipliers: readonly number[]): number {
  const history = [...pastMultipliers];
  let count = 0;
  // The budget caps ε ≤ 50 and σ ≥ 0.5, so this loop is bounded; 10,000 is a guard, not a limit.
  while (count < 10_000 && checkBudget(settings, history).allowed) {
    history.push(settings.noiseMultiplier);
    count++;
  }
  return count;
}
