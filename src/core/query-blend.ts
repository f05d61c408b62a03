/**
 * A search query in the feed, shared by both rankers (core/rank.ts before the on-device model starts,
 * core/model/ranking.ts after): how relevant each book is to the query, and how the user's taste may
 * reorder the relevant ones without ever bringing in a book that does not look relevant.
 *
 * Measured on the shipped catalog (docs/benchmarks.md, "The shipped catalog (product bench)"):
 * - The query vector is expanded with the books it finds first (pseudo-relevance feedback, Rocchio):
 *   a short query ("a scary book") sits far from every book's text, but its 30 nearest books mostly
 *   share what it is about, and their mean points there. +0.05 nDCG@10 on the shared query set, +0.03
 *   on a second set written for development; a plateau over 10–50 books and weights 0.5–2.
 * - The lexical channel (BM25) costs nDCG on queries that describe a topic (its words hit titles
 *   that merely contain them), and helps when the query names a title or an author: its weight follows
 *   how name-like the query is (lexicalWeightForQuery in core/lexical.ts).
 * - Taste reorders only a gate of the most relevant books (QUERY_GATE_FACTOR × the feed), where the
 *   query still counts QUERY_SHARE of the order: a liked-looking book outside the gate is never shown.
 */
import { topK } from './topk';
import { matVec } from './vector';

/** Books whose mean expands the query (pseudo-relevance feedback): the middle of the measured plateau. */
export const FEEDBACK_BOOKS = 30;
/**
 * The feedback books are at most this share of the catalog: in a small catalog the 30 nearest books
 * are much of it, and their mean is the catalog's centre rather than the query's topic (below 100
 * books there is no expansion).
 */
export const FEEDBACK_MAX_SHARE = 0.01;
/** Weight of the feedback books' mean against the query's own unit vector. */
export const FEEDBACK_WEIGHT = 1;
/** With a query, only this many times the feed's size of the most relevant books can be shown. */
export const QUERY_GATE_FACTOR = 2;
/** Inside the gate, the query's share of the order (z-scores); taste has the rest. */
export const QUERY_SHARE = 0.7;

/** Item vectors: a row-major matrix (itemCount × dim) or one optional vector per item. */
export type ItemVectors = { matrix: Float32Array; dim: number } | { rows: readonly (Float32Array | undefined)[] };

function itemCount(vectors: ItemVectors): number {
  return 'matrix' in vectors ? (vectors.dim > 0 ? vectors.matrix.length / vectors.dim : 0) : vectors.rows.length;
}

/** cos(vector, e_i) for every item (matVec's unrolled loop: ~2 passes of 10k × 512 per query); NaN where an item has no vector yet. */
function cosines(vector: Float32Array, vectors: ItemVectors): Float32Array {
  if ('matrix' in vectors) return matVec(vectors.matrix, vectors.dim, vector, new Float32Array(itemCount(vectors)));
  const out = new Float32Array(vectors.rows.length).fill(Number.NaN);
  vectors.rows.forEach((row, i) => {
    if (!row || row.length !== vector.length) return;
    let sum = 0;
    for (let t = 0; t < row.length; t++) sum += row[t]! * vector[t]!;
    out[i] = sum;
  });
  return out;
}

function row(vectors: ItemVectors, index: number): Float32Array | undefined {
  if ('matrix' in vectors) return vectors.matrix.subarray(index * vectors.dim, (index + 1) * vectors.dim);
  return vectors.rows[index];
}

/**
 * Rocchio's pseudo-relevance feedback: q' = q + α·mean(e_j over the `books` items nearest to q),
 * as a unit vector. With no item vectors (or none of q's width), or a catalog under 100 books, it is q itself.
 */
export function expandQuery(
  query: Float32Array,
  vectors: ItemVectors,
  books = Math.min(FEEDBACK_BOOKS, Math.floor(FEEDBACK_MAX_SHARE * itemCount(vectors))),
  weight = FEEDBACK_WEIGHT,
): Float32Array {
  if (books <= 0) return query;
  const first = cosines(query, vectors);
  const nearest = topK(first, books, (index) => Number.isNaN(first[index]!));
  if (nearest.length === 0) return query;
  const expanded = new Float32Array(query.length);
  for (const index of nearest) {
    const vector = row(vectors, index)!;
    for (let t = 0; t < expanded.length; t++) expanded[t] = expanded[t]! + vector[t]! / nearest.length;
  }
  let norm = 0;
  for (let t = 0; t < expanded.length; t++) {
    expanded[t] = query[t]! + weight * expanded[t]!;
    norm += expanded[t]! ** 2;
  }
  norm = Math.sqrt(norm);
  return norm > 0 ? expanded.map((value) => value / norm) : query;
}

export interface QueryChannels {
  /** Unit embedding of the query text; absent while no text model can read it. */
  vector?: Float32Array;
  /** Normalised BM25 score per item (Bm25Index.normalizedScore). */
  lexical?: Float32Array;
  /** Share of the lexical channel (lexicalWeightForQuery). */
  lexicalWeight?: number;
}

/**
 * How relevant each item is to the query: (1 − w)·cos(expanded query, e_i) + w·BM25, with BM25 alone
 * where an item (or the query) has no vector yet, so search works before and without a text model.
 * Also returns the per-item cosine with the expanded query (the rankers' "query cosine" feature).
 */
export function queryRelevance(query: QueryChannels, vectors: ItemVectors): { relevance: Float32Array; cosine: Float32Array | null } {
  const n = itemCount(vectors);
  const w = query.lexical ? Math.min(1, Math.max(0, query.lexicalWeight ?? 0)) : 0;
  const lexical = query.lexical;
  const semantic = query.vector ? cosines(expandQuery(query.vector, vectors), vectors) : null;
  const relevance = new Float32Array(lexical ? lexical.length : n);
  for (let i = 0; i < relevance.length; i++) {
    const cosine = semantic ? semantic[i]! : Number.NaN;
    const words = lexical?.[i] ?? 0;
    relevance[i] = Number.isNaN(cosine) ? (semantic ? w * words : words) : (1 - w) * cosine + w * words;
  }
  if (semantic) for (let i = 0; i < semantic.length; i++) if (Number.isNaN(semantic[i]!)) semantic[i] = 0;
  return { relevance, cosine: semantic };
}

/**
 * The gate: the `k × QUERY_GATE_FACTOR` most relevant items not excluded, most relevant first. Items
 * the query does not reach at all (relevance ≤ 0: no word matched and no vector yet) come only after
 * every reached one, in the order of `fallback` (the feed without the query).
 */
export function queryGate(relevance: Float32Array, k: number, exclude: (index: number) => boolean, fallback?: ArrayLike<number>): number[] {
  const size = Math.max(1, Math.ceil(k * QUERY_GATE_FACTOR));
  const reached = topK(relevance, size, (index) => exclude(index) || !(relevance[index]! > 0));
  if (reached.length === size || !fallback) return reached;
  const taken = new Set(reached);
  return [...reached, ...topK(fallback, size - reached.length, (index) => exclude(index) || taken.has(index))];
}

/** The mean and the (population) standard deviation of the values; 0 and 0 for none. */
export function meanAndSd(values: ArrayLike<number>): { mean: number; sd: number } {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i]!;
  mean /= Math.max(1, values.length);
  let variance = 0;
  for (let i = 0; i < values.length; i++) variance += (values[i]! - mean) ** 2;
  return { mean, sd: Math.sqrt(variance / Math.max(1, values.length)) };
}

/** Each value's distance from the mean in standard deviations; all 0 when the values (almost) do not vary. */
export function zScores(values: ArrayLike<number>): Float32Array {
  const { mean, sd } = meanAndSd(values);
  return Float32Array.from({ length: values.length }, (_, i) => (sd > 1e-12 ? (values[i]! - mean) / sd : 0));
}

/**
 * The order inside the gate: share·z(relevance) + (1 − share)·z(taste), z over the gate's items
 * (position c of both arrays is the c-th gated item). The query leads; taste separates books that
 * match it about equally well.
 */
export function steerByQuery(relevance: ArrayLike<number>, taste: ArrayLike<number>, share: number = QUERY_SHARE): Float32Array {
  if (relevance.length !== taste.length) throw new RangeError('relevance and taste must score the same items');
  if (!(share >= 0 && share <= 1)) throw new RangeError(`the query's share must be in [0, 1], got ${share}`);
  const r = zScores(relevance);
  const t = zScores(taste);
  return r.map((value, c) => share * value + (1 - share) * t[c]!);
}
