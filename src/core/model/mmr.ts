/**
 * Maximal Marginal Relevance over the model's candidate pool, with the feed's author cap
 * (core/feed-rules.ts), on rows of unit item vectors.
 */
import type { AuthorCap } from '../feed-rules';

/** e_a · e_b for two catalog items. */
export type ItemSimilarity = (a: number, b: number) => number;

export function rowDot(rows: Float32Array, dim: number, a: number, b: number): number {
  let sum = 0;
  for (let t = 0; t < dim; t++) sum += rows[a * dim + t]! * rows[b * dim + t]!;
  return sum;
}

/**
 * Maximal Marginal Relevance: repeatedly takes argmax (1 − λ)·rel(i) − λ·max_{j chosen} cos(e_i, e_j),
 * with relevance min-max scaled to [0, 1] over the candidates so λ means the same for every feed.
 * Returns positions into `candidates`, best first.
 */
export function mmr(
  candidates: readonly number[],
  relevance: ArrayLike<number>,
  embeddings: Float32Array,
  dim: number,
  k: number,
  diversity: number,
  similarity: ItemSimilarity = (a, b) => rowDot(embeddings, dim, a, b),
  cap?: AuthorCap,
): number[] {
  const lambda = Math.min(1, Math.max(0, diversity));
  let min = Infinity;
  let max = -Infinity;
  for (let c = 0; c < candidates.length; c++) {
    min = Math.min(min, relevance[c]!);
    max = Math.max(max, relevance[c]!);
  }
  const range = max - min > 1e-12 ? max - min : 1;
  const maxSimilarity = new Float32Array(candidates.length).fill(-Infinity);
  const taken = new Uint8Array(candidates.length);
  const chosen: number[] = [];
  while (chosen.length < Math.min(k, candidates.length)) {
    let best = -1;
    let bestValue = -Infinity;
    // An author at the cap waits; only when every remaining candidate is capped (a catalog too small
    // for the rule) does the best of them come in.
    let bestCapped = -1;
    let bestCappedValue = -Infinity;
    for (let c = 0; c < candidates.length; c++) {
      if (taken[c]) continue;
      const redundancy = chosen.length === 0 ? 0 : maxSimilarity[c]!;
      const value = (1 - lambda) * ((relevance[c]! - min) / range) - lambda * redundancy;
      if (cap && !cap.allows(candidates[c]!, chosen.length)) {
        if (value > bestCappedValue) [bestCappedValue, bestCapped] = [value, c];
      } else if (value > bestValue) {
        bestValue = value;
        best = c;
      }
    }
    if (best < 0) best = bestCapped;
    if (best < 0) break; // only NaN relevance left: nothing sensible to add
    taken[best] = 1;
    chosen.push(best);
    cap?.take(candidates[best]!);
    for (let c = 0; c < candidates.length; c++) {
      if (taken[c]) continue;
      const cosine = similarity(candidates[c]!, candidates[best]!);
      if (cosine > maxSimilarity[c]!) maxSimilarity[c] = cosine;
    }
  }
  return chosen;
}
