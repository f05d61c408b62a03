/**
 * Explanations in the hybrid model's own terms. The feed's order is the ranker's logit
 *   logit_i = Σ_f w_f·x_f(i) + bias,
 * so an item's lead over the average candidate of its pool is Σ_f w_f·(x_f(i) − x̄_f). Each feature's
 * part is then split further where the model says how:
 *
 * - score (x = s(u,i) standardized over the pool, s = u·v_i + b_i): the user vector is written as the
 *   liked items' vectors, u ≈ κ·Σ_j w_j·v_j, which is how the device fits it: at the maximum of the
 *   fine-tune's objective Σ_j w_j log softmax(s)_j − (λ/2)‖u‖², λu = Σ_j w_j v_j − W·E_softmax[v]
 *   (fit-user.ts), and each online BPR step adds η·(v_liked − v_skipped). κ is the least-squares fit
 *   of u on z = Σ_j w_j v_j (κ = u·z / z·z); liked item j's part of u·v_i is κ·w_j·(v_j·v_i), with
 *   w_j the fine-tune's own weight for the event (EVENT_WEIGHTS × recency, as fineTuneUserSoftmax).
 *   What u·v_i holds beyond the liked items' parts (the softmax's mean term, dislikes, skips) is
 *   "taste"; the bias b_i, learned from every reader, is "popular".
 * - profileCosine (x = cos(P, e_i), P the content profile of the liked items' text embeddings): the
 *   same kind of likeness in text space; its lead is shared among the same terms of u·v_i (without the
 *   bias), so both taste features tell one story.
 * - queryCosine + lexical → "Matches “query”"; logPopularity → "Popular with readers"; recency +
 *   novelty → "New to you".
 *
 * A liked item is named ("Because you liked X") when its total part is at least MIN_LIKED_SHARE of
 * the item's whole positive lead (at most 3 are named, the largest first: the first named is the
 * liked item contributing most to this item's place, by the model's own arithmetic). The other liked
 * items' parts go to the item's genre they share ("A fantasy book, like 3 you liked") or to "Close to
 * your taste". The card's reason is the largest term, whichever it is.
 */
import { EVENT_WEIGHTS } from './bpr';
import { RANKER_FEATURES, type LogisticRanker, type RankerFeature } from './ranker';
import type { ScoreUnits } from './score-blend';
import { rankWhy, tasteParts, type WhyTerm } from '../why';

/**
 * A liked item is named when it carries at least this share of the item's positive lead. Measured on
 * the shipped catalog (USE Lite vectors, 2 simulated readers × 36 genres, 5 likes each): liked items'
 * shares cluster above 0.15 or below 0.12, so the rule is stable around it; at 0.2 the one liked book
 * that leads is named on 200 of 1,440 cards, at 0.15 on 426.
 */
export const MIN_LIKED_SHARE = 0.15;

/**
 * The fine-tune's recency weighting (USER_SOFTMAX_DEFAULTS.recency in train.ts, kept equal by a test):
 * the k-th most recent event weighs floor + (1 − floor)·2^(−k/halfLife).
 */
export const FINE_TUNE_RECENCY = { halfLife: 10, floor: 0.25 } as const;

export interface ExplainAnchor {
  index: number;
  kind: 'like' | 'click';
}

/** w_j of each anchor (most recent first) in the fine-tune's objective. */
export function fineTuneWeights(anchors: readonly ExplainAnchor[]): Float64Array {
  const { halfLife, floor } = FINE_TUNE_RECENCY;
  return Float64Array.from(anchors, (anchor, k) => EVENT_WEIGHTS[anchor.kind] * (floor + (1 - floor) * 2 ** (-k / halfLife)));
}

/**
 * κ of u ≈ κ·Σ_j w_j v_j (least squares), and the liked part of each anchor:
 * part_j(i) = κ·w_j·(v_j·v_i). Rows are the model's item vectors (itemCount×d).
 */
export class UserDecomposition {
  readonly kappa: number;
  private readonly weights: Float64Array;

  constructor(
    private readonly vectors: Float32Array,
    private readonly d: number,
    user: Float32Array,
    readonly anchors: readonly ExplainAnchor[],
  ) {
    this.weights = fineTuneWeights(anchors);
    const z = new Float64Array(d);
    anchors.forEach((anchor, j) => {
      for (let f = 0; f < d; f++) z[f]! += this.weights[j]! * vectors[anchor.index * d + f]!;
    });
    let uz = 0;
    let zz = 0;
    for (let f = 0; f < d; f++) {
      uz += user[f]! * z[f]!;
      zz += z[f]! * z[f]!;
    }
    this.kappa = zz > 1e-12 ? uz / zz : 0;
  }

  /** κ·w_j·(v_j·v_i) for every anchor j. */
  parts(item: number): Float64Array {
    const { vectors, d } = this;
    return Float64Array.from(this.anchors, (anchor, j) => {
      let dot = 0;
      for (let f = 0; f < d; f++) dot += vectors[anchor.index * d + f]! * vectors[item * d + f]!;
      return this.kappa * this.weights[j]! * dot;
    });
  }
}

export interface PoolExplainInput {
  pool: readonly number[];
  /** Features per pool position (RANKER_FEATURES order). */
  features: readonly Float32Array[];
  ranker: LogisticRanker;
  /** s(u,i) = u·v_i + b_i per catalog item; the pool's standardization is recomputed from it. */
  modelScores: Float32Array;
  biases: Float32Array;
  decomposition: UserDecomposition;
  query?: string;
  /**
   * With a query the order is share·z(relevance) + (1 − share)·z(logit) (steerByQuery): the query's
   * own part per pool position, and the factor every logit part enters the order with.
   */
  steer?: { queryLead: Float32Array; logitScale: number };
  genresOf?: (item: number) => readonly string[] | undefined;
  /** Genres the reader chose ("What do you like to read?"). */
  chosenGenres?: ReadonlySet<string>;
  /**
   * For a reader with likes the feed's score is units.model·s(u,i) + units.coLiked·Σ_j sim(j, i) +
   * units.genre·affinity(i) (rankFeed's blend): a liked item's part is then units.model·κ·w_j·(v_j·v_i)
   * + units.coLiked·sim(j, i), and the genre affinity's part goes to the genre the item shares.
   */
  scoreMix?: {
    units: ScoreUnits;
    coLikedSimilarity?: (liked: number, item: number) => number;
    genreAffinity?: Float32Array;
  };
}

const featureIndex = (name: RankerFeature) => RANKER_FEATURES.indexOf(name);

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return values.length > 0 ? sum / values.length : 0;
}

/** `total` (if positive) shared among `weights` in proportion to their positive values. */
function allocate(total: number, weights: readonly number[]): number[] {
  const positive = weights.map((w) => Math.max(0, w));
  const sum = positive.reduce((a, b) => a + b, 0);
  return positive.map((w) => (total > 0 && sum > 0 ? (total * w) / sum : 0));
}

/**
 * The "Why?" terms of the chosen pool positions. Each feature group's lead over the pool's average
 * (w_f·(x_f − x̄_f), summed per group) is a part; the taste leads (model score, profile cosine) are
 * shared among the terms of s(u,i) — each liked item's κ·w_j·(v_j·v_i), the rest of u·v_i ("taste")
 * and, for the score, the bias b_i ("popular") — in proportion to their positive values. So the liked
 * item with the largest part of u·v_i (largestLikedPart) is the one named, when it is named at all.
 */
export function explainPool(input: PoolExplainInput, chosen: readonly number[]): WhyTerm[][] {
  const { pool, features, ranker, modelScores, biases, decomposition } = input;
  const anchors = decomposition.anchors;
  const featureMeans = RANKER_FEATURES.map((_, f) => mean(features.map((x) => x[f]!)));
  // Without a query the order is the logit itself; with one, the logit enters scaled (see `steer`).
  const w = ranker.weights.map((weight) => weight * (input.steer ? input.steer.logitScale : 1));
  return chosen.map((c) => {
    const item = pool[c]!;
    const x = features[c]!;
    const lead = (name: RankerFeature) => w[featureIndex(name)]! * (x[featureIndex(name)]! - featureMeans[featureIndex(name)]!);
    // The score feature is z(s) over the pool: its lead is w·(s − s̄)/sd.
    const scoreLead = lead('score');
    const profileLead = lead('profileCosine');
    const parts = decomposition.parts(item);
    const userPart = modelScores[item]! - biases[item]!;
    const rest = userPart - parts.reduce((sum, part) => sum + part, 0);
    const isLike = anchors.map((anchor) => anchor.kind === 'like');
    // Every part in the feed score's units (scoreMix; 1 per model unit without it).
    const mix = input.scoreMix;
    const modelUnit = mix ? mix.units.model : 1;
    const coLiked = (j: number) => (mix?.coLikedSimilarity ? mix.units.coLiked * mix.coLikedSimilarity(anchors[j]!.index, item) : 0);
    // Clicks are part of the taste, not named: only likes are.
    const tasteWeights = [
      ...anchors.map((_, j) => (isLike[j] ? modelUnit * parts[j]! + coLiked(j) : 0)),
      modelUnit * (rest + anchors.reduce((sum, _, j) => sum + (isLike[j] ? 0 : Math.max(0, parts[j]!)), 0)),
    ];
    const genreWeight = mix?.genreAffinity ? mix.units.genre * mix.genreAffinity[item]! : 0;
    const fromScore = allocate(scoreLead, [...tasteWeights, modelUnit * biases[item]!, genreWeight]);
    const fromProfile = allocate(profileLead, tasteWeights);
    const likes = anchors.map((anchor, j) => ({ item: anchor.index, magnitude: fromScore[j]! + fromProfile[j]! })).filter((_, j) => isLike[j]);
    const tasteRest = fromScore[anchors.length]! + fromProfile[anchors.length]!;
    const biasPart = fromScore[anchors.length + 1]!;
    const genrePart = fromScore[anchors.length + 2]!;
    const queryPart = input.query !== undefined ? lead('queryCosine') + lead('lexical') + (input.steer?.queryLead[c] ?? 0) : 0;
    const popularPart = lead('logPopularity') + biasPart;
    const newPart = lead('recency') + lead('novelty');
    const positiveTotal =
      likes.reduce((sum, entry) => sum + Math.max(0, entry.magnitude), 0) +
      Math.max(0, tasteRest) +
      Math.max(0, genrePart) +
      Math.max(0, queryPart) +
      Math.max(0, popularPart) +
      Math.max(0, newPart);
    const why = rankWhy([
      ...tasteParts(likes, tasteRest, {
        named: (entry) => entry.magnitude >= MIN_LIKED_SHARE * positiveTotal,
        itemGenres: input.genresOf?.(item),
        ...(input.genresOf ? { genresOf: input.genresOf } : {}),
        chosenGenres: input.chosenGenres,
        genreAffinity: genrePart,
      }),
      ...(input.query !== undefined ? [{ label: { kind: 'query' as const, query: input.query }, magnitude: queryPart }] : []),
      { label: { kind: 'popular' }, magnitude: popularPart },
      { label: { kind: 'new' }, magnitude: newPart },
    ]);
    // An item below the pool's average on every count (MMR may pick one for variety): its plain
    // contributions, uncentered, say what it has.
    return why.length > 0 ? why : uncenteredWhy(x, ranker, input.query);
  });
}

/** The liked item (an anchor of kind 'like') with the largest part κ·w_j·(v_j·v_i) of u·v_i; undefined without one > 0. */
export function largestLikedPart(decomposition: UserDecomposition, item: number): number | undefined {
  const parts = decomposition.parts(item);
  let best: number | undefined;
  let bestValue = 0;
  decomposition.anchors.forEach((anchor, j) => {
    if (anchor.kind === 'like' && parts[j]! > bestValue) [best, bestValue] = [anchor.index, parts[j]!];
  });
  return best;
}

function uncenteredWhy(x: Float32Array, ranker: LogisticRanker, query: string | undefined): WhyTerm[] {
  const c = ranker.contributions(x);
  const at = (name: RankerFeature) => c[featureIndex(name)]!;
  const why = rankWhy([
    { label: { kind: 'taste' }, magnitude: at('score') + at('profileCosine') },
    ...(query !== undefined ? [{ label: { kind: 'query' as const, query }, magnitude: at('queryCosine') + at('lexical') }] : []),
    { label: { kind: 'popular' }, magnitude: at('logPopularity') },
    { label: { kind: 'new' }, magnitude: at('recency') + at('novelty') },
  ]);
  return why.length > 0 ? why : [{ kind: 'popular', share: 1 }];
}
