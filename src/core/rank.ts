/**
 * Ranking for the content-profile model: blend the profile's cosine with popularity, filter what
 * the user already marked, and explain each pick with the item it resembles most.
 */
import type { CatalogItem } from './catalog';
import { queryGate, queryRelevance, steerByQuery } from './query-blend';
import { personalWeight, type ContentProfile } from './profile';
import { topK } from './topk';
import { dot, normalized } from './vector';

export interface Anchor {
  index: number;
  kind: 'like' | 'click';
}

export interface RankContext {
  items: readonly CatalogItem[];
  /** Unit-length item embeddings by catalog index; undefined where not computed yet. */
  embeddings: readonly (Float32Array | undefined)[];
  /** Popularity in [0, 1] by catalog index (see popularityScores). */
  popularity: Float32Array;
  profile: ContentProfile;
  /** Liked or disliked items: never recommended again. */
  marked: ReadonlySet<number>;
  /** Items the user liked or clicked, most recent first: candidates for "Because you liked …". */
  anchors: readonly Anchor[];
  /**
   * Cosine above which an anchor explains a pick. It depends on the encoder: USE Lite puts any two
   * goodbooks titles at 0.64 (median) and 0.73 (90th percentile), so "related" starts near 0.8.
   */
  explainThreshold?: number;
  /** A natural-language query: it re-weights the feed toward itself (see RankQuery). */
  query?: RankQuery;
  /** 0 = pure relevance, 1 = as varied as possible (MMR over the embeddings). */
  diversity?: number;
  /**
   * The item on screen where the recommendations are shown (a widget on a product page): picks lean
   * toward it and it is never recommended itself. Ignored while its embedding is unknown.
   */
  onScreen?: { index: number; embedding: Float32Array | undefined };
}

/**
 * A query in one or both channels. `vector` is its embedding by the encoder of `embeddings` (absent
 * while the text model loads, or when it is unavailable); `lexical` is its normalised BM25 score per
 * item (core/lexical.ts), blended with the cosine at `lexicalWeight`. With neither, it changes nothing.
 */
export interface RankQuery {
  text: string;
  vector?: Float32Array;
  lexical?: Float32Array;
  lexicalWeight?: number;
}

export interface Recommendation {
  index: number;
  itemId: string;
  score: number;
  reason: string;
}

const DEFAULT_EXPLAIN_THRESHOLD = 0.5;
/** With a query, this share of the score comes from the query's cosine, the rest from the taste profile (scoreItems). */
export const QUERY_WEIGHT = 0.7;
/** MMR picks among this many times k of the best-scored items. */
const MMR_POOL_FACTOR = 5;
/**
 * Share of the score taken by similarity to the item on screen. Over half: on an item's page, "more
 * like this" matters more than the long-run taste, which still breaks ties among similar items.
 */
export const ON_SCREEN_WEIGHT = 0.7;
const MAX_ANCHORS_FOR_REASONS = 50;

/** log-scaled popularity in [0, 1]: the most popular item is 1, unknown popularity is 0. */
export function popularityScores(items: readonly CatalogItem[]): Float32Array {
  const logs = items.map((item) => Math.log1p(item.popularity ?? 0));
  const max = Math.max(0, ...logs);
  return Float32Array.from(logs, (value) => (max > 0 ? value / max : 0));
}

/** Scores every item; items without an embedding get popularity alone. */
export function scoreItems(context: RankContext): Float32Array {
  const { embeddings, popularity, profile } = context;
  const weight = profile.vector ? personalWeight(profile.evidence) : 0;
  const direction = profile.vector ? normalized(profile.vector) : null;
  const scores = new Float32Array(context.items.length);
  for (let i = 0; i < scores.length; i++) {
    const embedding = embeddings[i];
    const personal = direction && embedding ? dot(direction, embedding) : 0;
    scores[i] = weight * personal + (1 - weight) * popularity[i]!;
  }
  const query = context.query;
  if (query) {
    // The query steers the feed instead of replacing it: taste and popularity still count for 30%.
    const similarity = querySimilarities(query, embeddings, scores.length);
    for (let i = 0; i < scores.length; i++) scores[i] = QUERY_WEIGHT * similarity[i]! + (1 - QUERY_WEIGHT) * scores[i]!;
  }
  const onScreen = context.onScreen?.embedding;
  if (onScreen) {
    for (let i = 0; i < scores.length; i++) {
      const embedding = embeddings[i];
      // Items not embedded yet cannot be compared: they keep only their share of the base score.
      const similarity = embedding ? dot(onScreen, embedding) : 0;
      scores[i] = ON_SCREEN_WEIGHT * similarity + (1 - ON_SCREEN_WEIGHT) * scores[i]!;
    }
  }
  return scores;
}

/**
 * How well each item matches the query: the cosine, blended with BM25 when the lexical channel is
 * there; BM25 alone while there is no query vector (search works before and without a text model).
 * A book without a vector yet counts as unrelated semantically (cosine 0 or its lexical part only),
 * not as absent: the feed never empties while the catalog is still being read.
 */
export function querySimilarities(query: RankQuery, embeddings: readonly (Float32Array | undefined)[], count: number): Float32Array {
  if (!query.vector && !query.lexical) return new Float32Array(count);
  return queryRelevance(
    {
      ...(query.vector ? { vector: query.vector } : {}),
      ...(query.lexical ? { lexical: query.lexical } : {}),
      ...(query.lexicalWeight !== undefined ? { lexicalWeight: query.lexicalWeight } : {}),
    },
    { rows: embeddings.length === count ? embeddings : Array.from({ length: count }, (_, i) => embeddings[i]) },
  ).relevance;
}

/**
 * Maximal marginal relevance: repeatedly takes the candidate with the best mix of its (min-max
 * normalised) score and its distance to what was already taken. diversity 0 keeps the score order.
 */
export function diversify(
  candidates: readonly number[],
  scores: ArrayLike<number>,
  embeddings: readonly (Float32Array | undefined)[],
  k: number,
  diversity: number,
): number[] {
  if (diversity <= 0 || candidates.length <= 1) return candidates.slice(0, k);
  const values = candidates.map((i) => scores[i]!);
  const low = Math.min(...values);
  const span = Math.max(...values) - low || 1;
  // Sentence encoders put unrelated texts far above cosine 0 (USE Lite: median 0.64 on goodbooks titles),
  // so raw cosines barely separate "different" from "near-duplicate". Rescale them so the pool's typical
  // similarity to its best item is 0 and identity is 1, which gives relevance and redundancy equal range.
  const typical = medianSimilarityToFirst(candidates, embeddings);
  const redundancy = (similarity: number) => Math.max(0, (similarity - typical) / (1 - typical || 1));
  const remaining = [...candidates];
  const chosen: number[] = [];
  const maxSimilarity = new Float32Array(candidates.length); // to anything chosen, per remaining slot
  const slotOf = new Map(candidates.map((index, slot) => [index, slot]));
  while (chosen.length < k && remaining.length > 0) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    remaining.forEach((index, position) => {
      const relevance = (scores[index]! - low) / span;
      const value = (1 - diversity) * relevance - diversity * (chosen.length ? maxSimilarity[slotOf.get(index)!]! : 0);
      if (value > bestValue) [best, bestValue] = [position, value];
    });
    const [picked] = remaining.splice(best, 1);
    chosen.push(picked!);
    const pickedEmbedding = embeddings[picked!];
    if (!pickedEmbedding) continue;
    for (const index of remaining) {
      const embedding = embeddings[index];
      if (!embedding) continue;
      const slot = slotOf.get(index)!;
      maxSimilarity[slot] = Math.max(maxSimilarity[slot]!, redundancy(dot(pickedEmbedding, embedding)));
    }
  }
  return chosen;
}

function medianSimilarityToFirst(candidates: readonly number[], embeddings: readonly (Float32Array | undefined)[]): number {
  const first = candidates.map((index) => embeddings[index]).find((e): e is Float32Array => e !== undefined);
  if (!first) return 0;
  const similarities = candidates
    .map((index) => embeddings[index])
    .filter((e): e is Float32Array => e !== undefined && e !== first)
    .map((e) => dot(first, e))
    .sort((a, b) => a - b);
  return similarities.length ? Math.min(0.95, similarities[similarities.length >> 1]!) : 0;
}

/**
 * The reason shown with a pick: the liked (or clicked) item it is closest to, when that item is
 * really close; otherwise popularity, which is then what put it there.
 */
function explain(context: RankContext, index: number): string {
  const embedding = context.embeddings[index];
  const query = context.query;
  if (query && ((embedding && query.vector) || (query.lexical?.[index] ?? 0) > 0)) return `Matches “${query.text}”`;
  const threshold = context.explainThreshold ?? DEFAULT_EXPLAIN_THRESHOLD;
  const onScreen = context.onScreen;
  if (embedding && onScreen?.embedding && dot(onScreen.embedding, embedding) >= threshold) {
    return `Similar to “${context.items[onScreen.index]!.title}”`;
  }
  if (embedding && context.profile.vector) {
    let best: { anchor: Anchor; similarity: number } | undefined;
    for (const anchor of context.anchors.slice(0, MAX_ANCHORS_FOR_REASONS)) {
      const anchorEmbedding = context.embeddings[anchor.index];
      if (!anchorEmbedding) continue;
      const similarity = dot(anchorEmbedding, embedding);
      if (!best || similarity > best.similarity) best = { anchor, similarity };
    }
    if (best && best.similarity >= threshold) {
      const title = context.items[best.anchor.index]!.title;
      return best.anchor.kind === 'like' ? `Because you liked “${title}”` : `Because you looked at “${title}”`;
    }
  }
  return 'Popular with readers';
}

/** The top-k recommendations with a one-line reason each. */
export function recommend(context: RankContext, k: number): Recommendation[] {
  const query = context.query;
  if (query && (query.vector || query.lexical) && !context.onScreen) return recommendForQuery(context, query, k);
  const scores = scoreItems(context);
  const diversity = context.diversity ?? 0;
  const onScreenIndex = context.onScreen?.index;
  const pool = topK(scores, diversity > 0 ? k * MMR_POOL_FACTOR : k, (index) => context.marked.has(index) || index === onScreenIndex);
  return diversify(pool, scores, context.embeddings, k, diversity).map((index) => ({
    index,
    itemId: context.items[index]!.id,
    score: scores[index]!,
    reason: explain(context, index),
  }));
}

/**
 * With a query: only the books most relevant to it can be shown (core/query-blend.ts, the gate); the
 * taste profile and popularity reorder them, the query still leading (QUERY_SHARE).
 */
function recommendForQuery(context: RankContext, query: RankQuery, k: number): Recommendation[] {
  const count = context.items.length;
  const relevance = querySimilarities(query, context.embeddings, count);
  const taste = scoreItems({ ...context, query: undefined });
  const gate = queryGate(relevance, k, (index) => context.marked.has(index), taste);
  const steered = steerByQuery(
    Float32Array.from(gate, (index) => relevance[index]!),
    Float32Array.from(gate, (index) => taste[index]!),
  );
  const scores = new Float32Array(count);
  gate.forEach((index, c) => (scores[index] = steered[c]!));
  const ordered = [...gate].sort((a, b) => scores[b]! - scores[a]!);
  return diversify(ordered, scores, context.embeddings, k, context.diversity ?? 0).map((index) => ({
    index,
    itemId: context.items[index]!.id,
    score: scores[index]!,
    reason: explain(context, index),
  }));
}
