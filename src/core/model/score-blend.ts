/**
 * How the model's feed makes its candidate score from several signals, each as a z-score over the
 * catalog so that a weight means the same at any scale: the content profile before the first like
 * (contentWeight, blendContent), the co-liked neighbours and the genre affinity after it
 * (blendReaderSignals), a query's share (blendQuery).
 */
import type { Query } from '../recommender';
import { genreAffinity } from '../genre-affinity';
import { coLikedScores, type CoLikedNeighbours } from './co-liked';

/** What the reader signals are read from (core/model/ranking.ts FeedRequest's fields). */
export interface ReaderSignals {
  /** The catalog's "readers who liked X also liked" neighbours (./co-liked.ts), where the publisher ships them. */
  coLiked?: CoLikedNeighbours;
  /** Genres per item, catalog order. */
  genres?: readonly (readonly string[] | undefined)[];
  /** With a query (a vector or words), the genre term is off (genreAffinityWeight). */
  query?: Query;
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

/**
 * The content profile's share of the candidate pool's score for a reader with `events` likes and
 * clicks: all of it before the first (a reader who has only chosen genres), none after. Why not a
 * gradual K/(K + n): the model's score for a new reader is mostly what the shared model knows of
 * everyone (the shipped global model ranks the popular books that readers of any genre also read), so
 * genre chips alone hardly moved its feed. But once there are likes, every share of the profile measured
 * cost the real readers' next book more than it gained simulated readers' genre precision
 * (docs/benchmarks.md, "A content prior").
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

export function blendReaderSignals(
  feed: Float32Array,
  request: ReaderSignals,
  liked: ReadonlySet<number>,
): { units: ScoreUnits; genre?: Float32Array } | undefined {
  if (liked.size === 0 || (!request.coLiked && !request.genres)) return undefined;
  const n = feed.length;
  const co = request.coLiked?.itemCount === n ? coLikedScores(request.coLiked, liked, new Float32Array(n)) : undefined;
  const genre = request.genres?.length === n ? genreAffinity(request.genres, liked) : undefined;
  const sdModel = standardDeviation(feed);
  const sdCo = co ? standardDeviation(co) : 0;
  const sdGenre = genre ? standardDeviation(genre) : 0;
  const hasQuery = Boolean(request.query && (request.query.vector || request.query.lexical));
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
