/**
 * The content ranker (core/rank.ts `recommend`) over a pool of candidates instead of the whole catalog
 * (issue 21): at catalog scale the vectors of every item are not in memory, so stage one (the index)
 * picks the pool, the pool's rows are read, and `recommend` re-scores them exactly, with the same
 * rules, marks, anchors and query as over the full catalog. Indices in and out are the catalog's.
 *
 * When the pool holds every item the ranker would consider (its top scores, the anchors, the item on
 * screen), the result is recommend's over the full catalog (tested against it as the exact reference).
 */
import type { CatalogItem } from '../catalog';
import { recommend, type ProfileState, type RankContext } from '../rank';
import type { Ranker, RankRequest, Recommendation } from '../recommender';
import { seriesIndexFor } from '../series';
import { topK } from '../topk';
import type { WhyTerm } from '../why';

/**
 * Ranks `pool` (catalog indices; duplicates are ignored) as `recommend` ranks the catalog. The series
 * rules are built for the pool's items when `withSeries` (by default: when the context has them; a
 * caller at scale asks without building the whole catalog's index).
 */
export function recommendOver(context: RankContext, pool: Iterable<number>, k: number, withSeries = context.series !== undefined): Recommendation[] {
  const members = [...new Set(pool)].filter((index) => index >= 0 && index < context.items.length).sort((a, b) => a - b);
  const local = new Map<number, number>();
  members.forEach((index, at) => local.set(index, at));
  const mapSet = (set: ReadonlySet<number> | undefined): Set<number> | undefined =>
    set && new Set([...set].flatMap((index) => (local.has(index) ? [local.get(index)!] : [])));
  const items: CatalogItem[] = members.map((index) => context.items[index]!);
  const query = context.query;
  const onScreenAt = context.onScreen && local.get(context.onScreen.index);
  const liked = mapSet(context.liked);
  const disliked = mapSet(context.disliked);
  const sub: RankContext = {
    ...context,
    items,
    embeddings: members.map((index) => context.embeddings[index]),
    popularity: Float32Array.from(members, (index) => context.popularity[index]!),
    exclude: mapSet(context.exclude)!,
    anchors: context.anchors.flatMap((anchor) => (local.has(anchor.index) ? [{ ...anchor, index: local.get(anchor.index)! }] : [])),
    ...(query ? { query: { ...query, ...(query.lexical ? { lexical: Float32Array.from(members, (index) => query.lexical![index]!) } : {}) } } : {}),
    // The item on screen outside the pool still steers the pool (index −1: nothing to leave out).
    ...(context.onScreen ? { onScreen: { index: onScreenAt ?? -1, embedding: context.onScreen.embedding } } : {}),
    ...(withSeries ? { series: seriesIndexFor(items) } : {}),
    ...(liked ? { liked } : {}),
    ...(disliked ? { disliked } : {}),
  };
  const back = (term: WhyTerm): WhyTerm => (term.kind === 'liked' || term.kind === 'similar' ? { ...term, item: members[term.item]! } : term);
  return recommend(sub, k).map((r) => ({ ...r, index: members[r.index]!, why: r.why.map(back) }));
}

/**
 * The content ranker over a pool, behind the one Ranker interface (core/recommender.ts): the pool is the
 * index's stage one for this rank; the series rules are built for the pool's items.
 */
export class PoolRanker implements Ranker {
  constructor(
    private readonly state: ProfileState,
    private readonly pool: Iterable<number>,
  ) {}

  rank({ k, ...request }: RankRequest): Recommendation[] {
    return recommendOver({ ...this.state, ...request }, this.pool, k, true);
  }
}

/** The `n` most popular items (ties: lower index first), the pool's part that needs no vector. */
export function mostPopular(popularity: Float32Array, n: number): number[] {
  // A bounded heap, not a sort of every index: sorting 1,000,000 took ~0.5 s of a returning visit's start.
  return topK(popularity, Math.min(n, popularity.length));
}

/** The `n` items with the highest `scores` above zero (a query's BM25 matches), best first. */
export function topPositive(scores: Float32Array, n: number): number[] {
  const hits: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > 0) hits.push(i);
  hits.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return hits.slice(0, Math.max(0, n));
}
