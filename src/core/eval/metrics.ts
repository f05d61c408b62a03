/**
 * Ranking metrics. The top-k family follows Microsoft Recommenders' python_evaluation exactly
 * (binary relevance, averaged over the users that have both truth and recommendations):
 *   Precision@k = hits / k;  Recall@k = hits / |truth|;
 *   nDCG@k = Σ_hits 1/ln(1+rank) / Σ_{r=1..min(|truth|,k)} 1/ln(1+r);
 *   MAP    = Σ_hits (hits so far / rank) / |truth|        (its `map`, and `map_at_k` before v1.2);
 *   MAP@k  = the same sum / min(|truth|, k)               (its current `map_at_k`).
 * Leave-one-out uses HR@k and NDCG@k of the single held-out item (1/log2(rank+1) when in the top k).
 */

export interface TopKMetrics {
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  mapAtK: number;
  /** Share of users with at least one hit (HR@k when each user has one held-out item). */
  hitRate: number;
  /** Distinct recommended items over the catalog size (when itemCount is given). */
  coverage: number;
  users: number;
}

/** One user's numbers; `recommended` is best first and may be shorter than k. */
export function userTopKMetrics(recommended: readonly number[], truth: ReadonlySet<number>, k: number) {
  let hits = 0;
  let dcg = 0;
  let precisionSum = 0;
  const top = recommended.slice(0, k);
  top.forEach((item, index) => {
    if (!truth.has(item)) return;
    hits++;
    const rank = index + 1;
    dcg += 1 / Math.log(1 + rank);
    precisionSum += hits / rank;
  });
  let idcg = 0;
  for (let rank = 1; rank <= Math.min(truth.size, k); rank++) idcg += 1 / Math.log(1 + rank);
  return {
    precision: hits / k,
    recall: truth.size > 0 ? hits / truth.size : 0,
    ndcg: idcg > 0 ? dcg / idcg : 0,
    map: truth.size > 0 ? precisionSum / truth.size : 0,
    mapAtK: truth.size > 0 ? precisionSum / Math.min(truth.size, k) : 0,
    hit: hits > 0 ? 1 : 0,
  };
}

/** Means over users; users with an empty truth set are skipped (they are not in Recommenders' common users). */
export function topKMetrics(
  recommendations: readonly (readonly number[])[],
  truths: readonly ReadonlySet<number>[],
  k: number,
  itemCount?: number,
): TopKMetrics {
  const sums = { precision: 0, recall: 0, ndcg: 0, map: 0, mapAtK: 0, hit: 0 };
  const distinct = new Set<number>();
  let users = 0;
  recommendations.forEach((recommended, user) => {
    const truth = truths[user];
    if (!truth || truth.size === 0) return;
    users++;
    const m = userTopKMetrics(recommended, truth, k);
    for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += m[key];
    for (const item of recommended.slice(0, k)) distinct.add(item);
  });
  const mean = (x: number) => (users > 0 ? x / users : 0);
  return {
    precision: mean(sums.precision),
    recall: mean(sums.recall),
    ndcg: mean(sums.ndcg),
    map: mean(sums.map),
    mapAtK: mean(sums.mapAtK),
    hitRate: mean(sums.hit),
    coverage: itemCount ? distinct.size / itemCount : 0,
    users,
  };
}

/**
 * Leave-one-out: rank of the held-out item among candidates (0 = best). Ties count against the
 * held-out item (pessimistic), so a constant scorer cannot look good.
 */
export function heldOutRank(targetScore: number, candidateScores: ArrayLike<number>): number {
  let rank = 0;
  for (let i = 0; i < candidateScores.length; i++) if (candidateScores[i]! >= targetScore) rank++;
  return rank;
}

export function hitAtK(rank: number, k: number): number {
  return rank < k ? 1 : 0;
}

/** NDCG@k with one relevant item at 0-based `rank`: 1/log2(rank + 2) inside the top k. */
export function ndcgOfRank(rank: number, k: number): number {
  return rank < k ? 1 / Math.log2(rank + 2) : 0;
}
