/**
 * Ranking for the content-profile model: blend the profile's cosine with popularity, filter what
 * the user already marked, keep the feed rules (core/feed-rules.ts: a series is one book, at most 2 per
 * author in 20), and explain each pick by the parts of its score (core/why.ts).
 */
import type { CatalogItem } from './catalog';
import { AuthorCap, authorsNamedIn, collapsedGate, collapseSeries, SeriesPicker, takeWithCap } from './feed-rules';
import { meanAndSd, QUERY_SHARE, queryGate, queryRelevance, steerByQuery, zScores } from './query-blend';
import { personalWeight, type ContentProfile } from './profile';
import type { Query, Ranker, RankRequest, Recommendation } from './recommender';
import { topK } from './topk';
import { dot, normalized } from './vector';
import { rankWhy, tasteParts, whyText, type WhyPart, type WhyTerm } from './why';

/** What the content ranker ranks with: the catalog's vectors and popularity, the reader's profile. */
export interface ProfileState {
  items: readonly CatalogItem[];
  /** Unit-length item embeddings by catalog index; undefined where not computed yet. */
  embeddings: readonly (Float32Array | undefined)[];
  /** Popularity in [0, 1] by catalog index (see popularityScores). */
  popularity: Float32Array;
  profile: ContentProfile;
  /**
   * Cosine above which an anchor explains a pick. It depends on the encoder: USE Lite puts any two
   * goodbooks titles at 0.64 (median) and 0.73 (90th percentile), so "related" starts near 0.8.
   */
  explainThreshold?: number;
  /**
   * The item on screen where the recommendations are shown (a widget on a product page): picks lean
   * toward it and it is never recommended itself. Ignored while its embedding is unknown.
   */
  onScreen?: { index: number; embedding: Float32Array | undefined };
}

/** One rank by the content profile: what it ranks with and the request (k apart: see recommend). */
export type RankContext = ProfileState & Omit<RankRequest, 'k'>;

/** The content-profile ranker behind the one Ranker interface (core/recommender.ts). */
export class ProfileRanker implements Ranker {
  constructor(private readonly state: ProfileState) {}

  rank({ k, ...request }: RankRequest): Recommendation[] {
    return recommend({ ...this.state, ...request }, k);
  }
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
  // A loop, not Math.max(...logs): spreading 100,000 arguments overflows a worker's stack in Chromium.
  const max = logs.reduce((a, b) => Math.max(a, b), 0);
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
export function querySimilarities(query: Query, embeddings: readonly (Float32Array | undefined)[], count: number): Float32Array {
  if (!query.vector && !query.lexical) return new Float32Array(count);
  return queryRelevance(query, { rows: embeddings.length === count ? embeddings : Array.from({ length: count }, (_, i) => embeddings[i]) }).relevance;
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
  cap?: AuthorCap,
): number[] {
  if (diversity <= 0 || candidates.length <= 1) return cap ? takeWithCap(candidates, k, cap) : candidates.slice(0, k);
  const values = candidates.map((i) => scores[i]!);
  const low = values.reduce((a, b) => Math.min(a, b), Infinity);
  const span = values.reduce((a, b) => Math.max(a, b), -Infinity) - low || 1;
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
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    // An author at the cap waits, unless every remaining candidate is capped (a tiny catalog).
    let bestCapped = 0;
    let bestCappedValue = Number.NEGATIVE_INFINITY;
    remaining.forEach((index, position) => {
      const relevance = (scores[index]! - low) / span;
      const value = (1 - diversity) * relevance - diversity * (chosen.length ? maxSimilarity[slotOf.get(index)!]! : 0);
      if (cap && !cap.allows(index, chosen.length)) {
        if (value > bestCappedValue) [bestCapped, bestCappedValue] = [position, value];
      } else if (value > bestValue) [best, bestValue] = [position, value];
    });
    const [picked] = remaining.splice(best >= 0 ? best : bestCapped, 1);
    chosen.push(picked!);
    cap?.take(picked!);
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

/** The feed rules for this context (core/feed-rules.ts), or null without a series index. */
function feedRules(context: RankContext, excluded: (index: number) => boolean): { picker: SeriesPicker; cap: AuthorCap } | null {
  const index = context.series;
  if (!index) return null;
  const liked = new Set(context.liked ?? context.anchors.filter((anchor) => anchor.kind === 'like').map((anchor) => anchor.index));
  // On a book's page the reader is looking at that book: its series goes on after it.
  if (context.onScreen) liked.add(context.onScreen.index);
  const picker = new SeriesPicker(index, { liked, disliked: context.disliked ?? new Set(), excluded });
  // The cap is lifted for an author the reader asks for: named in the query, or the author of the book
  // on screen (a widget's "more like this" on that book's page).
  const uncapped = context.query ? authorsNamedIn(context.query.text, index) : new Set<number>();
  const onScreenAuthor = context.onScreen ? (index.author[context.onScreen.index] ?? -1) : -1;
  if (onScreenAuthor >= 0) uncapped.add(onScreenAuthor);
  const cap = new AuthorCap(index.author, uncapped);
  return { picker, cap };
}

/** The top-k recommendations, each with its "Why?" terms and the strongest in words. */
export function recommend(context: RankContext, k: number): Recommendation[] {
  const query = context.query;
  if (query && (query.vector || query.lexical) && !context.onScreen) return recommendForQuery(context, query, k);
  const scores = scoreItems(context);
  const diversity = context.diversity ?? 0;
  const onScreenIndex = context.onScreen?.index;
  const excluded = (index: number) => context.exclude.has(index) || index === onScreenIndex;
  const rules = feedRules(context, excluded);
  // A pool wider than k: the rules and MMR both pass over some of the best-scored books.
  let pool = topK(scores, diversity > 0 || rules ? k * MMR_POOL_FACTOR : k, excluded);
  if (rules) pool = collapseSeries(pool, rules.picker).sort((a, b) => scores[b]! - scores[a]!);
  const chosen = diversify(pool, scores, context.embeddings, k, diversity, rules?.cap);
  const parts = scoreParts(context, pool);
  return describe(context, pool, chosen, parts, scores);
}

/**
 * With a query: only the books most relevant to it can be shown (core/query-blend.ts, the gate); the
 * taste profile and popularity reorder them, the query still leading (QUERY_SHARE).
 */
function recommendForQuery(context: RankContext, query: Query, k: number): Recommendation[] {
  const count = context.items.length;
  const relevance = querySimilarities(query, context.embeddings, count);
  const taste = scoreItems({ ...context, query: undefined });
  const excluded = (index: number) => context.exclude.has(index);
  const rules = feedRules(context, excluded);
  // A series keeps the member the query finds best (the book asked for), if it is still unread, and
  // counts once in the gate.
  const gateFor = (size: number) => queryGate(relevance, size, excluded, taste);
  const gate = rules ? collapsedGate(gateFor, k, rules.picker) : gateFor(k);
  const gateRelevance = Float32Array.from(gate, (index) => relevance[index]!);
  const gateTaste = Float32Array.from(gate, (index) => taste[index]!);
  const steered = steerByQuery(gateRelevance, gateTaste);
  const scores = new Float32Array(count);
  gate.forEach((index, c) => (scores[index] = steered[c]!));
  const ordered = [...gate].sort((a, b) => scores[b]! - scores[a]!);
  const chosen = diversify(ordered, scores, context.embeddings, k, context.diversity ?? 0, rules?.cap);
  // The order is share·z(relevance) + (1 − share)·z(taste): the taste parts enter scaled by (1 − share)/sd.
  const { sd: tasteSd } = meanAndSd(gateTaste);
  const gateParts = scoreParts({ ...context, query: undefined }, gate);
  const zRelevance = zScores(gateRelevance);
  const parts = new Map<number, ScoreParts>();
  gate.forEach((index, c) => {
    const own = gateParts.get(index)!;
    const scale = tasteSd > 1e-12 ? (1 - QUERY_SHARE) / tasteSd : 0;
    parts.set(index, { taste: own.taste * scale, popular: own.popular * scale, query: QUERY_SHARE * zRelevance[c]!, similar: 0 });
  });
  return describe(context, ordered, chosen, parts, scores);
}

/** An item's score as the sum of what makes it: scoreItems, term by term. */
interface ScoreParts {
  taste: number;
  popular: number;
  query: number;
  similar: number;
}

/** scoreItems' terms for the pool's items (their sum is scoreItems' score). */
function scoreParts(context: RankContext, pool: readonly number[]): Map<number, ScoreParts> {
  const { embeddings, popularity, profile } = context;
  const weight = profile.vector ? personalWeight(profile.evidence) : 0;
  const direction = profile.vector ? normalized(profile.vector) : null;
  const querySimilarity = context.query ? querySimilarities(context.query, embeddings, context.items.length) : null;
  const onScreen = context.onScreen?.embedding;
  const parts = new Map<number, ScoreParts>();
  for (const index of pool) {
    const embedding = embeddings[index];
    let taste = weight * (direction && embedding ? dot(direction, embedding) : 0);
    let popular = (1 - weight) * popularity[index]!;
    let query = 0;
    let similar = 0;
    if (querySimilarity) {
      taste *= 1 - QUERY_WEIGHT;
      popular *= 1 - QUERY_WEIGHT;
      query = QUERY_WEIGHT * querySimilarity[index]!;
    }
    if (onScreen) {
      taste *= 1 - ON_SCREEN_WEIGHT;
      popular *= 1 - ON_SCREEN_WEIGHT;
      query *= 1 - ON_SCREEN_WEIGHT;
      similar = ON_SCREEN_WEIGHT * (embedding ? dot(onScreen, embedding) : 0);
    }
    parts.set(index, { taste, popular, query, similar });
  }
  return parts;
}

/**
 * The chosen items with their "Why?": each score part's lead over the pool's mean; the taste part
 * shared among the liked books in proportion to their cosine to the item (the profile is their
 * moving average), the book with the highest cosine named when it reaches `explainThreshold`,
 * the rest going to the genre the liked books share or to "taste". An item below the pool's mean on
 * every part is described by its parts as they are.
 */
function describe(
  context: RankContext,
  pool: readonly number[],
  chosen: readonly number[],
  parts: ReadonlyMap<number, ScoreParts>,
  scores: ArrayLike<number>,
): Recommendation[] {
  const keys = ['taste', 'popular', 'query', 'similar'] as const;
  const means = Object.fromEntries(keys.map((key) => [key, pool.reduce((sum, index) => sum + parts.get(index)![key], 0) / Math.max(1, pool.length)])) as Record<
    (typeof keys)[number],
    number
  >;
  const threshold = context.explainThreshold ?? DEFAULT_EXPLAIN_THRESHOLD;
  const likes = context.anchors.slice(0, MAX_ANCHORS_FOR_REASONS).filter((anchor) => anchor.kind === 'like' && context.embeddings[anchor.index]);
  const titleOf = (index: number) => context.items[index]?.title ?? `item ${index}`;
  const genresOf = (index: number) => context.items[index]?.genres;
  return chosen.map((index) => {
    const own = parts.get(index)!;
    const why = whyOf(index, own, means) ?? whyOf(index, own, { taste: 0, popular: 0, query: 0, similar: 0 }) ?? [{ kind: 'popular' as const, share: 1 }];
    const strongest = why[0]!;
    return { index, score: scores[index]!, reason: whyText(strongest, titleOf), why };
  });

  function whyOf(index: number, own: ScoreParts, base: Record<(typeof keys)[number], number>): WhyTerm[] | undefined {
    const embedding = context.embeddings[index];
    const tasteLead = own.taste - base.taste;
    const cosines = new Map(likes.map((anchor) => [anchor.index, embedding ? dot(context.embeddings[anchor.index]!, embedding) : 0]));
    const total = [...cosines.values()].reduce((sum, cosine) => sum + Math.max(0, cosine), 0);
    const shared = tasteLead > 0 && total > 0;
    const liked = likes.map((anchor) => ({ item: anchor.index, magnitude: shared ? (tasteLead * Math.max(0, cosines.get(anchor.index)!)) / total : 0 }));
    const list: WhyPart[] = [
      ...tasteParts(liked, shared ? 0 : tasteLead, {
        named: (entry) => (cosines.get(entry.item) ?? 0) >= threshold,
        itemGenres: genresOf(index),
        genresOf,
        chosenGenres: context.chosenGenres,
      }),
      ...(context.query ? [{ label: { kind: 'query' as const, query: context.query.text }, magnitude: own.query - base.query }] : []),
      { label: { kind: 'popular' }, magnitude: own.popular - base.popular },
      ...(context.onScreen ? [{ label: { kind: 'similar' as const, item: context.onScreen.index }, magnitude: own.similar - base.similar }] : []),
    ];
    const why = rankWhy(list);
    return why.length > 0 ? why : undefined;
  }
}
