/**
 * The ranker: a logistic head over a handful of features of (user, query, item). It starts with fixed,
 * hand-set weights and learns from impressions (clicked vs shown-and-skipped) by cross-entropy once
 * there are enough of them. Plain typed-array math: seven weights do not need a tensor runtime.
 */

export const RANKER_FEATURES = [
  'score', // s(u,i) = u·v_i + b_i, standardized over the candidates
  'queryCosine', // cos(query, e_i); 0 without a query
  'profileCosine', // cos(content profile, e_i); 0 for a new user
  'lexical', // BM25 of the query in the item's text, scaled by the best match (word-overlap share without an index)
  'logPopularity', // log-popularity scaled to [0, 1]
  'recency', // how new the item is, in [0, 1]
  'novelty', // 1 − max cosine to what the user already consumed
] as const;
export type RankerFeature = (typeof RANKER_FEATURES)[number];
export const RANKER_FEATURE_COUNT = RANKER_FEATURES.length;

/**
 * Weights before any training: the model score leads; a query, when present, counts twice as much as
 * taste (it re-weights the feed rather than replacing it: score and profile still count); popularity
 * helps a new user; recency and novelty only break near-ties.
 */
export const DEFAULT_RANKER_WEIGHTS: Readonly<Record<RankerFeature, number>> = {
  score: 1.0,
  queryCosine: 4.0,
  profileCosine: 2.0,
  lexical: 1.0,
  logPopularity: 0.5,
  recency: 0.1,
  novelty: 0.1,
};

/** Below this many impressions (or clicks), learned weights would mostly fit noise. */
export const MIN_IMPRESSIONS_TO_TRAIN = 200;
export const MIN_CLICKS_TO_TRAIN = 10;

export interface Impression {
  /** Feature vector (length RANKER_FEATURE_COUNT) as computed when the item was shown. */
  features: Float32Array;
  clicked: boolean;
}

export interface RankerTrainOptions {
  epochs?: number;
  learningRate?: number;
  /** L2 pull toward the default weights (not toward zero): few impressions move the ranker only a little. */
  l2?: number;
}

export class LogisticRanker {
  weights: Float32Array;
  bias: number;

  constructor(weights?: Float32Array, bias = 0) {
    this.weights = weights ? Float32Array.from(weights) : defaultRankerWeights();
    this.bias = bias;
    if (this.weights.length !== RANKER_FEATURE_COUNT) {
      throw new RangeError(`the ranker has ${RANKER_FEATURE_COUNT} weights, got ${this.weights.length}`);
    }
  }

  /** The logit: Σ w_f·x_f + bias. Ranking uses it directly; the probability is σ(logit). */
  logit(features: ArrayLike<number>): number {
    let sum = this.bias;
    for (let f = 0; f < RANKER_FEATURE_COUNT; f++) sum += this.weights[f]! * features[f]!;
    return sum;
  }

  /** Each feature's share of the logit (w_f·x_f): what the explanation picks from. */
  contributions(features: ArrayLike<number>): Float32Array {
    const out = new Float32Array(RANKER_FEATURE_COUNT);
    for (let f = 0; f < RANKER_FEATURE_COUNT; f++) out[f] = this.weights[f]! * features[f]!;
    return out;
  }

  /** Whether the impressions justify training (see MIN_IMPRESSIONS_TO_TRAIN). */
  static hasEnough(impressions: readonly Impression[]): boolean {
    const clicks = impressions.reduce((n, impression) => n + (impression.clicked ? 1 : 0), 0);
    return impressions.length >= MIN_IMPRESSIONS_TO_TRAIN && clicks >= MIN_CLICKS_TO_TRAIN;
  }

  /**
   * Full-batch gradient descent on the mean binary cross-entropy. Returns the loss per epoch. Does nothing
   * (and returns []) below the impression threshold, so the fixed weights stay in charge.
   */
  train(impressions: readonly Impression[], options: RankerTrainOptions = {}): number[] {
    if (!LogisticRanker.hasEnough(impressions)) return [];
    const epochs = options.epochs ?? 200;
    const learningRate = options.learningRate ?? 0.1;
    const l2 = options.l2 ?? 0.01;
    const prior = defaultRankerWeights();
    const losses: number[] = [];
    const gradient = new Float64Array(RANKER_FEATURE_COUNT);
    for (let epoch = 0; epoch < epochs; epoch++) {
      gradient.fill(0);
      let biasGradient = 0;
      let loss = 0;
      for (const { features, clicked } of impressions) {
        const p = sigmoid(this.logit(features));
        const y = clicked ? 1 : 0;
        loss += -(y * Math.log(Math.max(p, 1e-12)) + (1 - y) * Math.log(Math.max(1 - p, 1e-12)));
        const error = p - y; // d(BCE)/d(logit)
        for (let f = 0; f < RANKER_FEATURE_COUNT; f++) gradient[f]! += error * features[f]!;
        biasGradient += error;
      }
      const n = impressions.length;
      for (let f = 0; f < RANKER_FEATURE_COUNT; f++) {
        const g = gradient[f]! / n + l2 * (this.weights[f]! - prior[f]!);
        this.weights[f] = this.weights[f]! - learningRate * g;
      }
      this.bias -= learningRate * (biasGradient / n);
      losses.push(loss / n);
    }
    return losses;
  }
}

export function defaultRankerWeights(): Float32Array {
  return Float32Array.from(RANKER_FEATURES, (name) => DEFAULT_RANKER_WEIGHTS[name]);
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}
