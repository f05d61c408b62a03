/**
 * The model's ranker (behind core/recommender.ts's Ranker; the engine's PersonalModel.rank gives it the
 * reader's u): from model scores to a feed. Filter what the reader marked, blend the reader signals in
 * (./score-blend.ts) and a search query (its gate, core/query-blend.ts), score a candidate pool with the
 * logistic ranker's features (./ranker.ts), keep the feed rules (core/feed-rules.ts: a series is one book,
 * at most 2 per author in 20), diversify with MMR (./mmr.ts), and explain each pick in the model's terms
 * (./explain.ts). Full-catalog work is one pass of s(u,i) (+ one cosine pass with a query) and a heap
 * top-K; everything else runs on the pool.
 */
import { AuthorCap, authorsNamedIn, collapsedGate, collapseSeries, SeriesPicker } from '../feed-rules';
import { QUERY_SHARE, queryGate, queryRelevance, steerByQuery } from '../query-blend';
import type { Anchor, RankRequest, Recommendation } from '../recommender';
import { whyText } from '../why';
import { explainPool, UserDecomposition } from './explain';
import { assertFiniteScores, topK } from '../topk';
import { matVec } from '../vector';
import { coLikedSimilarity, type CoLikedNeighbours } from './co-liked';
import type { HybridModel } from './hybrid';
import { mmr, rowDot, type ItemSimilarity } from './mmr';
import { RANKER_FEATURE_COUNT, RANKER_FEATURES, type RankerFeature } from './ranker';
import { blendContent, blendReaderSignals, contentWeight, standardize } from './score-blend';
import type { SimilarityCache } from './similarity-cache';

/** What the model ranks with: the model, the reader's u, the catalog's features and caches. */
export interface ModelState {
  model: HybridModel;
  user: Float32Array;
  /** Log-popularity in [0, 1] per item. */
  popularity: Float32Array;
  /** Newness in [0, 1] per item (e.g. scaled publication year); zeros when unknown. */
  recency?: Float32Array;
  /** Content profile (unit vector in embedding space), or null for a new user. */
  profile?: Float32Array | null;
  /** Likes and clicks behind the profile (see contentWeight); default: the anchors' count. */
  evidence?: number;
  /** Texts the lexical feature reads (catalog order). */
  texts?: readonly string[];
  titles?: readonly string[];
  /** Candidates that get full features and MMR (default max(200, 10k)). */
  poolSize?: number;
  /** The query's share of the order among the books relevant to it (0..1, default QUERY_SHARE in core/query-blend.ts). */
  queryWeight?: number;
  /**
   * Item–item cosines kept from earlier ranks over the same embeddings (novelty, MMR and reasons ask
   * for mostly the same pairs after each event). Without it every pair is computed afresh.
   */
  similarities?: SimilarityCache;
  /** Genres per item, catalog order: "A fantasy book, like 3 you liked". */
  genres?: readonly (readonly string[] | undefined)[];
  /** The catalog's "readers who liked X also liked" neighbours (./co-liked.ts), where the publisher ships them. */
  coLiked?: CoLikedNeighbours;
}

/** One rank by the model: what it ranks with and the request (core/recommender.ts); no anchors by default. */
export type FeedRequest = ModelState & Omit<RankRequest, 'anchors'> & { anchors?: readonly Anchor[] };

/** One item of the model's feed: the ranker's logit as its score, and the features it was scored on. */
export interface ModelRecommendation extends Recommendation {
  features: Float32Array;
}

const MAX_ANCHORS = 50;

const featureIndex = (name: RankerFeature) => RANKER_FEATURES.indexOf(name);

/** Excluded items out, every other index in. */
export function candidateMask(itemCount: number, exclude: ReadonlySet<number>): (index: number) => boolean {
  return (index) => index < 0 || index >= itemCount || exclude.has(index);
}

/** Cosine of one unit vector against every unit row of `rows` (itemCount×dim). */
export function cosineAll(vector: Float32Array, rows: Float32Array, dim: number): Float32Array {
  return matVec(rows, dim, vector, new Float32Array(rows.length / dim));
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
export function rankFeed(request: FeedRequest): ModelRecommendation[] {
  const { model, user, k, exclude, popularity } = request;
  const dim = model.embeddingDim;
  const embeddings = model.embeddings;
  const anchors = request.anchors ?? [];
  const buffers = scratchFor(model);
  const modelScores = model.scoreAll(user, buffers.scores);
  const query = request.query;
  // The query's channel (core/query-blend.ts): cosine with the expanded query and BM25 blended, or BM25
  // alone before any query vector.
  const queryChannel = query && (query.vector || query.lexical) ? queryRelevance(query, { matrix: embeddings, dim }) : null;
  const queryCosines = queryChannel?.cosine ?? null;
  // Candidate pool: model score (plus popularity for a cold user, whose u is zero); with a query, only
  // the books most relevant to it (the gate), which taste then reorders but can never add to.
  let feed = buffers.feed;
  for (let i = 0; i < feed.length; i++) feed[i] = modelScores[i]! + 0.1 * popularity[i]!;
  // A reader without likes or clicks: the content profile ranks the pool (see contentWeight).
  // (The catalog-wide cosine pass only when it counts: after the first like it would be thrown away on every rank.)
  const profileShare = request.profile ? contentWeight(request.evidence ?? anchors.length) : 0;
  if (request.profile && profileShare > 0) feed = blendContent(feed, cosineAll(request.profile, embeddings, dim), profileShare);
  // A broken model (weights that overflow) would otherwise give an empty feed without a word: see topk.ts.
  assertFiniteScores(feed);
  const liked = request.liked ?? new Set(anchors.filter((anchor) => anchor.kind === 'like').map((anchor) => anchor.index));
  // After the first like: the co-liked neighbours and the genre affinity join the model's score.
  const mix = profileShare > 0 ? undefined : blendReaderSignals(feed, request, liked);
  const excluded = candidateMask(model.itemCount, exclude);
  // The feed rules (core/feed-rules.ts): each series down to one book, at the place of its best member.
  const picker = request.series ? new SeriesPicker(request.series, { liked, disliked: request.disliked ?? new Set(), excluded }) : null;
  const gate = (size: number) => queryGate(queryChannel!.relevance, size, excluded, feed);
  const ranked = queryChannel ? null : topK(feed, Math.max(request.poolSize ?? 200, 10 * k), excluded);
  const pool = ranked ? (picker ? collapseSeries(ranked, picker) : ranked) : picker ? collapsedGate(gate, k, picker) : gate(k);
  if (pool.length === 0) return [];
  // The ranker's score feature: the blended score where a blend applies (the content profile before the
  // first like; co-liked and genre affinity after it), else the model's own s(u,i). Not the pool's
  // order score, whose 0.1·popularity (for u = 0) would count popularity twice beside logPopularity:
  // that cost the shared query set 0.03 nDCG@10 with an empty history (0.851 → 0.821).
  const scoreSource = profileShare > 0 || mix ? feed : modelScores;
  const poolScores = standardize(Float32Array.from(pool, (i) => scoreSource[i]!));
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
    x[featureIndex('lexical')] = query?.lexical ? query.lexical[item]! : query && request.texts ? lexicalScore(query.text, request.texts[item] ?? '') : 0;
    x[featureIndex('logPopularity')] = popularity[item]!;
    x[featureIndex('recency')] = request.recency?.[item] ?? 0;
    x[featureIndex('novelty')] = recentAnchors.length > 0 ? 1 - nearest : 0;
    return x;
  });
  const logits = features.map((x) => model.ranker.logit(x));
  // With a query, the gate's order: the query leads, the ranker's logit (taste) separates near-ties.
  const ordering = queryChannel
    ? steerByQuery(
        Float32Array.from(pool, (item) => queryChannel.relevance[item]!),
        logits,
        request.queryWeight,
      )
    : logits;
  // At most 2 books per author in every 20, unless the query names the author.
  const cap = request.series ? new AuthorCap(request.series.author, query ? authorsNamedIn(query.text, request.series) : undefined) : undefined;
  const order = mmr(pool, ordering, embeddings, dim, k, request.diversity ?? 0, similarity, cap);
  const whys = explainPool(
    {
      pool,
      features,
      ranker: model.ranker,
      modelScores,
      biases: model.b,
      decomposition: new UserDecomposition(model.itemVectors(), model.factors, user, recentAnchors),
      ...(query ? { query: query.text } : {}),
      ...(queryChannel
        ? {
            steer: steerTerms(
              Float32Array.from(pool, (item) => queryChannel.relevance[item]!),
              logits,
              request.queryWeight ?? QUERY_SHARE,
            ),
          }
        : {}),
      ...(request.genres ? { genresOf: (item: number) => request.genres![item] } : {}),
      ...(request.chosenGenres ? { chosenGenres: request.chosenGenres } : {}),
      ...(mix
        ? {
            scoreMix: {
              units: mix.units,
              ...(request.coLiked ? { coLikedSimilarity: (likedItem: number, item: number) => coLikedSimilarity(request.coLiked!, likedItem, item) } : {}),
              ...(mix.genre ? { genreAffinity: mix.genre } : {}),
            },
          }
        : {}),
    },
    order,
  );
  const titleOf = (item: number) => request.titles?.[item] ?? `item ${item}`;
  return order.map((c, place) => {
    const why = whys[place]!;
    const strongest = why[0]!;
    return {
      index: pool[c]!,
      score: logits[c]!,
      features: features[c]!,
      reason: whyText(strongest, titleOf),
      why,
    };
  });
}

/**
 * steerByQuery's order, share·z(relevance) + (1 − share)·z(logit), as the explanation reads it: the
 * query's own part per pool position, and the factor the ranker's logit enters with.
 */
function steerTerms(relevance: Float32Array, logits: readonly number[], share: number): { queryLead: Float32Array; logitScale: number } {
  const mean = logits.reduce((sum, value) => sum + value, 0) / Math.max(1, logits.length);
  const sd = Math.sqrt(logits.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(1, logits.length));
  const z = standardize(relevance);
  return { queryLead: z.map((value) => share * value), logitScale: sd > 1e-12 ? (1 - share) / sd : 0 };
}

function rowDotVector(rows: Float32Array, dim: number, row: number, vector: Float32Array): number {
  let sum = 0;
  for (let t = 0; t < dim; t++) sum += rows[row * dim + t]! * vector[t]!;
  return sum;
}
