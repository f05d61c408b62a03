/**
 * A device's lifetime privacy budget for "Contribute to the shared model" (engine/contribute.ts): the ε
 * spent over every round the device joined, composed by the accountant (not summed per round), against
 * the limit the deployment states (core/deployment.ts `lifetimeEpsilon`). A round whose accounting would
 * take the device past the limit is not joined: nothing of it is sent, not even its keys.
 *
 * The record it is computed from is the device's own (settings: the σ of each round joined), so the
 * budget is the device's courtesy to its user, not something the service enforces: erasing the app's
 * data forgets it (docs/secure-aggregation.md, "Lifetime privacy budget").
 */

export interface BudgetStatus {
  /** The lifetime ε the device keeps to. */
  limit: number;
  /** ε over the rounds joined so far (0 before the first). */
  spent: number;
  /** limit − spent, never below 0. */
  remaining: number;
  /** ε after one more round at the σ asked about. */
  next: number;
  /** Whether that round keeps the device within its limit. */
  allowsNext: boolean;
}

/**
 * Where a device stands. `epsilonOf` is the accountant over a list of rounds' noise multipliers (the
 * composed ε of all of them); `joined` the multipliers of the rounds joined, `nextMultiplier` the next
 * round's. The comparison allows a relative 1e-9 for the accountant's floating point (a limit set to the
 * ε of exactly k rounds admits k rounds).
 */
export function budgetStatus(
  limit: number,
  joined: readonly number[],
  nextMultiplier: number,
  epsilonOf: (multipliers: readonly number[]) => number,
): BudgetStatus {
  if (!(limit > 0 && Number.isFinite(limit))) throw new RangeError(`the lifetime ε budget must be positive and finite (got ${limit})`);
  const spent = joined.length === 0 ? 0 : epsilonOf(joined);
  const next = epsilonOf([...joined, nextMultiplier]);
  return { limit, spent, remaining: Math.max(0, limit - spent), next, allowsNext: next <= limit * (1 + 1e-9) };
}
