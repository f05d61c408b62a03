/**
 * From model scores to a feed: filter what the user consumed or disliked, blend a search query in
 * (re-weighting the feed, not replacing it), score a candidate pool with the ranker's features,
 * keep the feed rules (core/feed-rules.ts: a series is one book, at most 2 per author in 20), diversify
 * with MMR, and explain each pick in the model's terms (./explain.ts). Full-catalog work is one pass
 * of s(u,i) (+ one cosine pass with a query) and a heap top-K; everything else runs on the pool.
 */
import type { Anchor } from '../anchor';
import { AuthorCap, authorsNamedIn, collapsedGate, collapseSeries, SeriesPicker } from '../feed-rules';
import { genreAffinity } from '../genre-affinity';
import { QUERY_SHARE, queryGate, queryRelevance, steerByQuery } from '../query-blend';
import type { SeriesIndex } from '../series';
import { whyText, type WhyTerm } from '../why';
import { explainPool, UserDecomposition } from './explain';
import { assertFiniteScores, topK } from '../topk';
import { matVec } from '../vector';
import { coLikedScores, coLikedSimilarity, type CoLikedNeighbours } from './co-liked';
import type { HybridModel } from './hybrid';
import { RANKER_FEATURE_COUNT, RANKER_FEATURES, type RankerFeature } from './ranker';
import type { SimilarityCache } from './similarity-cache';

export type { Anchor } from '../anchor';

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
  /** Likes and clicks behind the profile (see contentWeight); default: the anchors' count. */
  evidence?: number;
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
  /** The query's share of the order among the books relevant to it (0..1, default QUERY_SHARE in core/query-blend.ts). */
  queryWeight?: number;
  /**
   * Item–item cosines kept from earlier ranks over the same embeddings (novelty, MMR and reasons ask
   * for mostly the same pairs after each event). Without it every pair is computed afresh.
   */
  similarities?: SimilarityCache;
  /**
   * The catalog's series and authors (core/series.ts). With it the feed rules hold (core/feed-rules.ts):
   * one book per series (the next unread volume), at most 2 per author in every 20 unless the query
   * names the author, no box set or companion of what was liked. Without it, none of them.
   */
  series?: SeriesIndex;
  /** Items the reader liked, which the series rule counts as read (default: the 'like' anchors). */
  liked?: ReadonlySet<number>;
  /** Items the reader dismissed ("Not interested"): a series only ever dismissed is left out. */
  disliked?: ReadonlySet<number>;
  /** Genres per item, catalog order: "A fantasy book, like 3 you liked". */
  genres?: readonly (readonly string[] | undefined)[];
  /** Genres the reader chose ("What do you like to read?"): "A fantasy book, a genre you chose". */
  chosenGenres?: ReadonlySet<string>;
  /** The catalog's "readers who liked X also liked" neighbours (./co-liked.ts), where the publisher ships them. */
  coLiked?: CoLikedNeighbours;
}

/** e_a · e_b for two catalog items. */
export type ItemSimilarity = (a: number, b: number) => number;

/** The strongest term of an item's "Why?", in English words (`why[0]` said as a sentence). */
export interface Reason {
  kind: WhyTerm['kind'];
  text: string;
  /** The liked item named, for kind 'liked'. */
  anchor?: number;
}

/** One item of the model's feed, before the engine turns it into the UI's FeedItem (engine/api.ts). */
export interface RankedItem {
  index: number;
  /** The ranker's logit: the order before MMR. */
  score: number;
  features: Float32Array;
  reason: Reason;
  /** Why it is here (src/core/model/explain.ts): 1–4 terms with shares, strongest first. */
  why: WhyTerm[];
}

const MAX_ANCHORS = 50;

const featureIndex = (name: RankerFeature) => RANKER_FEATURES.indexOf(name);

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

/**
 * The content profile's share of the candidate pool's score for a reader with `events` likes and
 * clicks: all of it before the first (a reader who has only chosen genres), none after. Why not a
 * gradual K/(K + n): the model's score for a new reader is mostly what the shared model knows of
 * everyone (the shipped global model ranks the popular books that readers of any genre also read), so
 * genre chips alone hardly moved its feed (5 horror books of 20 after choosing horror; 16 with the
 * profile). But once there are likes, every share of the profile measured cost the real readers'
 * next book more than it gained simulated readers' genre precision (product bench, 100 test readers:
 * HR@10 0.20 without, 0.13 at K = 1, 0.11 at K = 4, 0.10 at K = 10; genre precision@20 0.63 → 0.66,
 * 0.71, 0.74: docs/benchmarks.md, "A content prior").
 */
export function contentWeight(events: number): number {
  return events > 0 ? 0 : 1;
}

/** (1 − w)·z(model) + w·z(content): both as z-scores over the catalog, so w means the same for any scale. */
export function blendContent(model: Float32Array, content: Float32Array, weight: number): Float32Array {
  const w = Math.min(1, Math.max(0, weight));
  if (w === 0) return model;
  const a = standardize(model);
  const b = standardize(content);
  return a.map((x, i) => (1 - w) * x + w * b[i]!);
}

/**
 * A reader with likes: the candidate score is z(model) + CO_LIKED_WEIGHT·z(co-liked) +
 * GENRE_AFFINITY_WEIGHT·z(genre affinity), each a z-score over the catalog. The co-liked channel is the
 * catalog's "readers who liked it also liked" file; the shipped one holds EASE's item-item weights
 * (cli/build-co-liked.ts), which weigh each liked book by what it adds beside the others. EASE's
 * neighbours of popular books are popular books of any genre, so the genre term counts for more than it
 * did beside cosine neighbours, or a reader of one genre gets bestsellers of all. Weights chosen on goodbooks validation readers and simulated genre readers, never the
 * test readers (docs/benchmarks.md, "EASE instead of cosine co-likes"). Neither term counts before the
 * first like (the content profile ranks then: contentWeight).
 */
export const CO_LIKED_WEIGHT = 1;
export const GENRE_AFFINITY_WEIGHT = 3;
/**
 * Likes up to which the genre term counts in full; above, its weight shrinks as GENRE_PRIOR_LIKES / likes.
 * The genre term is a prior from the catalog's metadata: with few likes the collaborative channels know
 * little and the genres hold the reader's feed together; with many, what readers like them read next
 * says more than the genres they share (docs/benchmarks.md, "The genre term shrinks with the likes").
 */
export const GENRE_PRIOR_LIKES = 10;

/**
 * The genre term's weight for a reader with `likes` likes. With a query it is 0: the query says which
 * books the reader wants now, and a prior of the genres they liked before would pull the query's gate
 * toward those genres (a fantasy reader asking for "a whodunit" would get fantasy-flavoured mysteries first).
 */
export function genreAffinityWeight(likes: number, hasQuery: boolean): number {
  if (hasQuery) return 0;
  return GENRE_AFFINITY_WEIGHT * Math.min(1, GENRE_PRIOR_LIKES / Math.max(1, likes));
}

/** What the feed's candidate score is made of, per unit of each input: ScoreMix.combine's weights over their catalog sds. */
export interface ScoreUnits {
  /** Multiplies s(u,i) (model units → the feed's). */
  model: number;
  /** Multiplies Σ_j sim(j, i) over the liked items j. */
  coLiked: number;
  /** Multiplies the genre affinity (mean Jaccard with the liked items' genres). */
  genre: number;
}

function standardDeviation(values: Float32Array): number {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= Math.max(1, values.length);
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  return Math.sqrt(variance / Math.max(1, values.length));
}

/**
 * The blend for a reader with likes, in place: feed ← z(feed) + α·z(co-liked) + β·z(genre affinity).
 * Returns the units each input enters with (for the explanation), or undefined when nothing blends.
 */
function blendReaderSignals(feed: Float32Array, request: FeedRequest, liked: ReadonlySet<number>): { units: ScoreUnits; genre?: Float32Array } | undefined {
  if (liked.size === 0 || (!request.coLiked && !request.genres)) return undefined;
  const n = feed.length;
  const co = request.coLiked?.itemCount === n ? coLikedScores(request.coLiked, liked, new Float32Array(n)) : undefined;
  const genre = request.genres?.length === n ? genreAffinity(request.genres, liked) : undefined;
  const sdModel = standardDeviation(feed);
  const sdCo = co ? standardDeviation(co) : 0;
  const sdGenre = genre ? standardDeviation(genre) : 0;
  const hasQuery = Boolean(request.query && (request.query.embedding || request.query.lexical));
  const units: ScoreUnits = {
    model: sdModel > 1e-12 ? 1 / sdModel : 0,
    coLiked: sdCo > 1e-12 ? CO_LIKED_WEIGHT / sdCo : 0,
    genre: sdGenre > 1e-12 ? genreAffinityWeight(liked.size, hasQuery) / sdGenre : 0,
  };
  if (units.coLiked === 0 && units.genre === 0) return undefined;
  // Constant offsets (the means) change no order: the feed is the units' weighted sum.
  for (let i = 0; i < n; i++) feed[i] = units.model * feed[i]! + (co ? units.coLiked * co[i]! : 0) + (genre ? units.genre * genre[i]! : 0);
  return { units, ...(genre ? { genre } : {}) };
}

/** The feed: top-k items with features, score and reason. */
export function rankFeed(request: FeedRequest): RankedItem[] {
  const { model, user, k, exclude, popularity } = request;
  const dim = model.embeddingDim;
  const embeddings = model.embeddings;
  const anchors = request.anchors ?? [];
  const buffers = scratchFor(model);
  const modelScores = model.scoreAll(user, buffers.scores);
  const query = request.query;
  // The query's channel (core/query-blend.ts): cosine with the expanded query and BM25 blended, or BM25
  // alone before any query vector.
  const queryChannel =
    query && (query.embedding || query.lexical)
      ? queryRelevance(
          {
            ...(query.embedding ? { vector: query.embedding } : {}),
            ...(query.lexical ? { lexical: query.lexical } : {}),
            ...(query.lexicalWeight !== undefined ? { lexicalWeight: query.lexicalWeight } : {}),
          },
          { matrix: embeddings, dim },
        )
      : null;
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
      reason: { kind: strongest.kind, text: whyText(strongest, titleOf), ...(strongest.kind === 'liked' ? { anchor: strongest.item } : {}) },
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
