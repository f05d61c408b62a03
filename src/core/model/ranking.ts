/**
 * From model scores to a feed: filter what the user consumed or disliked, blend a search query in
 * (re-weighting the feed, not replacing it), score a candidate pool with the ranker's features,
 * diversify with MMR, and explain each pick by its strongest feature. Full-catalog work is one pass
 * of s(u,i) (+ one cosine pass with a query) and a heap top-K; everything else runs on the pool.
 */
import { blendQueryScores } from '../lexical';
import { topK } from '../topk';
import { matVec } from '../vector';
import type { HybridModel } from './hybrid';
import { RANKER_FEATURE_COUNT, RANKER_FEATURES, type LogisticRanker, type RankerFeature } from './ranker';
import type { SimilarityCache } from './similarity-cache';

export interface Anchor {
  index: number;
  kind: 'like' | 'click';
}

export interface FeedQuery {
  text: string;
  /** Unit embedding of the query text (same encoder as the items); absent while no text model can read it. */
  embedding?: Float32Array;
  /** Normalised BM25 score of every item for the query (core/lexical.ts): the lexical channel. */
  lexical?: Float32Array;
  /** Share of the lexical channel in the query score (see lexicalWeightForQuery). */
  lexicalWeight?: number;
}

export interface FeedRequest {
  model: HybridModel;
  user: Float32Array;
  k: number;
  /** Items never to recommend: consumed (liked, clicked, read) and disliked ("Not interested"). */
  exclude: ReadonlySet<number>;
  /** Log-popularity in [0, 1] per item. */
  popularity: Float32Array;
  /** Newness in [0, 1] per item (e.g. scaled publication year); zeros when unknown. */
  recency?: Float32Array;
  /** Content profile (unit vector in embedding space), or null for a new user. */
  profile?: Float32Array | null;
  query?: FeedQuery;
  /** Texts the lexical feature reads (catalog order). */
  texts?: readonly string[];
  /** Liked or clicked items, most recent first: "Because you liked …" and novelty. */
  anchors?: readonly Anchor[];
  titles?: readonly string[];
  /** 0 = by relevance only; 1 = as different from each other as possible. */
  diversity?: number;
  /** Candidates that get full features and MMR (default max(200, 10k)). */
  poolSize?: number;
  /** Weight of the query in the candidate blend (0..1, default 0.7). */
  queryWeight?: number;
  /**
   * Item–item cosines kept from earlier ranks over the same embeddings (novelty, MMR and reasons ask
   * for mostly the same pairs after each event). Without it every pair is computed afresh.
   */
  similarities?: SimilarityCache;
}

/** e_a · e_b for two catalog items. */
export type ItemSimilarity = (a: number, b: number) => number;

export type Reason =
  | { kind: 'liked'; anchor: number; text: string }
  | { kind: 'query'; text: string }
  | { kind: 'popular'; text: string }
  | { kind: 'new'; text: string }
  | { kind: 'taste'; text: string };

export interface FeedItem {
  index: number;
  /** The ranker's logit: the order before MMR. */
  score: number;
  features: Float32Array;
  reason: Reason;
}

const MAX_ANCHORS = 50;

/** Excluded items out, every other index in. */
export function candidateMask(itemCount: number, exclude: ReadonlySet<number>): (index: number) => boolean {
  return (index) => index < 0 || index >= itemCount || exclude.has(index);
}

/** z-scores (mean 0, sd 1); a constant input becomes zeros. */
export function standardize(values: Float32Array): Float32Array {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= Math.max(1, values.length);
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  const sd = Math.sqrt(variance / Math.max(1, values.length));
  return values.map((v) => (sd > 1e-12 ? (v - mean) / sd : 0));
}

/**
 * (1 − w)·z(feed) + w·z(query): the query pulls the feed toward itself while the user's taste still
 * orders items that match the query about equally. w = 0 is the plain feed, w = 1 plain search.
 */
export function blendQuery(feed: Float32Array, query: Float32Array, weight: number): Float32Array {
  const w = Math.min(1, Math.max(0, weight));
  const a = standardize(feed);
  const b = standardize(query);
  return a.map((x, i) => (1 - w) * x + w * b[i]!);
}

/** Cosine of one unit vector against every unit row of `rows` (itemCount×dim). */
export function cosineAll(vector: Float32Array, rows: Float32Array, dim: number): Float32Array {
  return matVec(rows, dim, vector, new Float32Array(rows.length / dim));
}

function rowDot(rows: Float32Array, dim: number, a: number, b: number): number {
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
    for (let c = 0; c < candidates.length; c++) {
      if (taken[c]) continue;
      const redundancy = chosen.length === 0 ? 0 : maxSimilarity[c]!;
      const value = (1 - lambda) * ((relevance[c]! - min) / range) - lambda * redundancy;
      if (value > bestValue) {
        bestValue = value;
        best = c;
      }
    }
    if (best < 0) break; // only NaN relevance left: nothing sensible to add
    taken[best] = 1;
    chosen.push(best);
    for (let c = 0; c < candidates.length; c++) {
      if (taken[c]) continue;
      const cosine = similarity(candidates[c]!, candidates[best]!);
      if (cosine > maxSimilarity[c]!) maxSimilarity[c] = cosine;
    }
  }
  return chosen;
}

function tokens(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []);
}

/** Share of the query's words (2+ letters) that occur in the text. */
export function lexicalScore(query: string, text: string): number {
  const wanted = tokens(query);
  if (wanted.size === 0) return 0;
  const present = tokens(text);
  let hits = 0;
  for (const word of wanted) if (present.has(word)) hits++;
  return hits / wanted.size;
}

export interface ExplainContext {
  ranker: LogisticRanker;
  query?: FeedQuery;
  anchors: readonly Anchor[];
  titles?: readonly string[];
  embeddings: Float32Array;
  dim: number;
  similarity?: ItemSimilarity;
}

const featureIndex = (name: RankerFeature) => RANKER_FEATURES.indexOf(name);

/**
 * The reason shown with a pick: the feature with the largest contribution w_f·x_f to its score.
 * Taste (model score, profile) → "Because you liked X" with the liked item nearest to it; query
 * (cosine, words) → "Matches 'query'"; popularity → "Popular with readers"; recency/novelty → "New to you".
 */
export function explain(index: number, features: Float32Array, context: ExplainContext): Reason {
  const contributions = context.ranker.contributions(features);
  const groups: { kind: Reason['kind']; value: number }[] = [
    { kind: 'taste', value: Math.max(contributions[featureIndex('score')]!, contributions[featureIndex('profileCosine')]!) },
    {
      kind: 'query',
      value: context.query
        ? contributions[featureIndex('queryCosine')]! + contributions[featureIndex('lexical')]!
        : -Infinity,
    },
    { kind: 'popular', value: contributions[featureIndex('logPopularity')]! },
    { kind: 'new', value: Math.max(contributions[featureIndex('recency')]!, contributions[featureIndex('novelty')]!) },
  ];
  const strongest = groups.reduce((a, b) => (b.value > a.value ? b : a));
  switch (strongest.kind) {
    case 'query':
      return { kind: 'query', text: `Matches “${context.query!.text}”` };
    case 'popular':
      return { kind: 'popular', text: 'Popular with readers' };
    case 'new':
      return { kind: 'new', text: 'New to you' };
    default: {
      let best: Anchor | undefined;
      let bestSimilarity = -Infinity;
      for (const anchor of context.anchors.slice(0, MAX_ANCHORS)) {
        const similarity = context.similarity ? context.similarity(anchor.index, index) : rowDot(context.embeddings, context.dim, anchor.index, index);
        if (similarity > bestSimilarity) {
          bestSimilarity = similarity;
          best = anchor;
        }
      }
      if (!best) return { kind: 'popular', text: 'Popular with readers' };
      const title = context.titles?.[best.index] ?? `item ${best.index}`;
      return {
        kind: 'liked',
        anchor: best.index,
        text: best.kind === 'like' ? `Because you liked “${title}”` : `Because you looked at “${title}”`,
      };
    }
  }
}

/**
 * Per model, the two catalog-sized arrays every rank fills (model scores, feed scores): reused, since
 * rankFeed runs after every event and 2 × 400 KB of fresh typed arrays per rank over 100,000 items
 * is garbage the collector then stops the worker for. Safe: rankFeed is synchronous and returns
 * neither array.
 */
const scratch = new WeakMap<HybridModel, { scores: Float32Array; feed: Float32Array }>();

function scratchFor(model: HybridModel): { scores: Float32Array; feed: Float32Array } {
  let buffers = scratch.get(model);
  if (!buffers || buffers.scores.length !== model.itemCount) {
    buffers = { scores: new Float32Array(model.itemCount), feed: new Float32Array(model.itemCount) };
    scratch.set(model, buffers);
  }
  return buffers;
}

/** The feed: top-k items with features, score and reason. */
export function rankFeed(request: FeedRequest): FeedItem[] {
  const { model, user, k, exclude, popularity } = request;
  const dim = model.embeddingDim;
  const embeddings = model.embeddings;
  const anchors = request.anchors ?? [];
  const buffers = scratchFor(model);
  const modelScores = model.scoreAll(user, buffers.scores);
  const query = request.query;
  const queryCosines = query?.embedding ? cosineAll(query.embedding, embeddings, dim) : null;
  // The query's channel: cosine and BM25 blended, or either alone (BM25 alone before any query vector).
  const queryScores = query?.lexical
    ? queryCosines
      ? blendQueryScores(queryCosines, query.lexical, query.lexicalWeight)
      : query.lexical
    : queryCosines;
  // Candidate pool: model score (plus popularity for a cold user, whose u is zero) blended with the query.
  const feed = buffers.feed;
  for (let i = 0; i < feed.length; i++) feed[i] = modelScores[i]! + 0.1 * popularity[i]!;
  const blended = queryScores ? blendQuery(feed, queryScores, request.queryWeight ?? 0.7) : feed;
  const pool = topK(blended, Math.max(request.poolSize ?? 200, 10 * k), candidateMask(model.itemCount, exclude));
  if (pool.length === 0) return [];
  const poolScores = standardize(Float32Array.from(pool, (i) => modelScores[i]!));
  const recentAnchors = anchors.slice(0, MAX_ANCHORS);
  const cache = request.similarities;
  const similarity: ItemSimilarity = cache ? (a, b) => cache.between(a, b) : (a, b) => rowDot(embeddings, dim, a, b);
  const features = pool.map((item, c) => {
    const x = new Float32Array(RANKER_FEATURE_COUNT);
    let nearest = 0;
    for (const anchor of recentAnchors) nearest = Math.max(nearest, similarity(anchor.index, item));
    x[featureIndex('score')] = poolScores[c]!;
    x[featureIndex('queryCosine')] = queryCosines ? queryCosines[item]! : 0;
    x[featureIndex('profileCosine')] = request.profile ? rowDotVector(embeddings, dim, item, request.profile) : 0;
    x[featureIndex('lexical')] = query?.lexical
      ? query.lexical[item]!
      : query && request.texts
        ? lexicalScore(query.text, request.texts[item] ?? '')
        : 0;
    x[featureIndex('logPopularity')] = popularity[item]!;
    x[featureIndex('recency')] = request.recency?.[item] ?? 0;
    x[featureIndex('novelty')] = recentAnchors.length > 0 ? 1 - nearest : 0;
    return x;
  });
  const logits = features.map((x) => model.ranker.logit(x));
  const order = mmr(pool, logits, embeddings, dim, k, request.diversity ?? 0, similarity);
  const context: ExplainContext = {
    ranker: model.ranker,
    anchors,
    embeddings,
    dim,
    similarity,
    ...(request.query ? { query: request.query } : {}),
    ...(request.titles ? { titles: request.titles } : {}),
  };
  return order.map((c) => ({
    index: pool[c]!,
    score: logits[c]!,
    features: features[c]!,
    reason: explain(pool[c]!, features[c]!, context),
  }));
}

function rowDotVector(rows: Float32Array, dim: number, row: number, vector: Float32Array): number {
  let sum = 0;
  for (let t = 0; t < dim; t++) sum += rows[row * dim + t]! * vector[t]!;
  return sum;
}
