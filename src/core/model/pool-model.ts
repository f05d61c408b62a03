/**
 * The recommendation model over a pool (issue 21, docs/scale.md "The model at scale"): at catalog scale
 * there is no n × D matrix of text vectors and no q, b for every item, so the model is opened for the
 * pool's items only. Its parameters:
 *   W (d × D): the global model's, the same for any catalog of the same text model;
 *   q_i, b_i: the global model's rows for the items its file lists by id (the head); an item outside the
 *     head has q_i = 0 (its v_i is the text's alone, W·e_i) and b_i the content prior, a line fitted to
 *     the head's biases against the catalog's popularity (the head's mean bias when popularity says nothing);
 *   the ranker's weights: the global model's.
 * `over` builds a HybridModel of the pool's items with exactly those rows, so the small path's scoring,
 * online step (core/model/bpr.ts) and ranker (core/model/ranking.ts) run over the pool as they run over
 * a catalog: u·v_i + b_i of a pool item is the score a HybridModel over every item with the same
 * parameters gives it (pool-model.test.ts). W·e_i is kept per text row (WeakMap), so a rank
 * after a Like projects only the rows it has not seen.
 */
import type { CatalogItem } from '../catalog';
import type { ParamSet } from '../federated/params';
import { firstOutOfRangeWeight } from '../limits';
import type { Anchor, RankRequest, Recommendation } from '../recommender';
import { seriesIndexFor } from '../series';
import { matVec } from '../vector';
import type { WhyTerm } from '../why';
import { HybridModel, PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from './hybrid';
import type { ItemOverrides } from './item-overrides';
import { LogisticRanker } from './ranker';
import { rankFeed } from './ranking';
import { SimilarityCache } from './similarity-cache';

/** A bias prior for items outside the head: b = intercept + slope · popularity. */
export interface BiasPrior {
  intercept: number;
  slope: number;
}

export class PoolModel {
  readonly factors: number;
  readonly embeddingDim: number;
  readonly W: Float32Array;
  readonly headSize: number;
  prior: BiasPrior;
  /** This device's own q_i, b_i for the items the reader touched (item-overrides.ts): they replace the head's rows or q = 0 and the prior. */
  overrides: ItemOverrides | undefined;
  private readonly headRow: Map<string, number>;
  private readonly q: Float32Array;
  private readonly b: Float32Array;
  private readonly ranker: LogisticRanker;
  /** W·e_i by text row: a row read again (the same array) is not projected again. */
  private readonly projections = new WeakMap<Float32Array, Float32Array>();
  /**
   * The pool's text rows, reused from one `over` to the next: a fresh 2 MB array (1,000 rows of 512) cost
   * ~6 ms a rank in first-touch page faults alone, against ~0.1 ms to copy the rows into this one.
   */
  private rows = new Float32Array(0);
  /** The text row whose values lie at each place of `rows` now (a place whose row is the same is not copied again). */
  private rowsIn: Float32Array[] = [];

  /** From a global model's parameters (HybridModel's names) and the ids of q's and b's rows; throws a RangeError naming what does not fit. */
  constructor(params: ParamSet, itemIds: readonly string[]) {
    const W = params[PARAM_W];
    const q = params[PARAM_Q];
    const b = params[PARAM_B];
    const weights = params[PARAM_RANKER_WEIGHTS];
    const bias = params[PARAM_RANKER_BIAS];
    if (!W || W.shape.length !== 2 || !q || !b || !weights || !bias)
      throw new RangeError(`the global model lacks ${PARAM_W}, ${PARAM_Q}, ${PARAM_B} or the ranker`);
    const [d, D] = W.shape as [number, number];
    const n = itemIds.length;
    if (W.values.length !== d * D) throw new RangeError(`${PARAM_W} has ${W.values.length} values for ${d} × ${D}`);
    if (q.values.length !== n * d || b.values.length !== n) throw new RangeError(`${PARAM_Q} and ${PARAM_B} must have one row for each of the ${n} item ids`);
    for (const [name, values] of Object.entries({ W: W.values, q: q.values, b: b.values, ranker: weights.values, bias: bias.values })) {
      const at = firstOutOfRangeWeight(values);
      if (at >= 0) throw new RangeError(`the global model's ${name} has an unusable value (${values[at]}) at index ${at}`);
    }
    this.factors = d;
    this.embeddingDim = D;
    this.W = W.values;
    this.q = q.values;
    this.b = b.values;
    this.ranker = new LogisticRanker(weights.values, bias.values[0] ?? 0);
    this.headRow = new Map(itemIds.map((id, row) => [id, row]));
    this.headSize = n;
    this.prior = { intercept: mean(this.b), slope: 0 };
  }

  inHead(id: string): boolean {
    return this.headRow.has(id);
  }

  /** The head's item ids, by row. */
  headIds(): IterableIterator<[string, number]> {
    return this.headRow.entries();
  }

  /** v = W·e + q of head row `row` for its text row `e` (into `out`, d floats), as `over` computes it, and its b. */
  headVector(row: number, e: Float32Array | undefined, out: Float32Array): number {
    const d = this.factors;
    if (e) matVec(this.W, this.embeddingDim, e, out);
    else out.fill(0);
    for (let k = 0; k < d; k++) out[k] = out[k]! + this.q[row * d + k]!;
    return this.b[row]!;
  }

  /** b_i of an item outside the head: the prior at its popularity. */
  priorBias(popularity: number): number {
    return this.prior.intercept + this.prior.slope * popularity;
  }

  /**
   * v = W·e + q and b of item `id` as `over` gives them (the device's own row, else the head's, else q = 0
   * and the prior at `popularity`), into `out` (d floats); returns b. W·e is kept per text row as in `over`.
   */
  itemVector(id: string, e: Float32Array, popularity: number, out: Float32Array): number {
    out.set(this.project(e));
    const own = this.overrides?.get(id);
    const row = own ? undefined : this.headRow.get(id);
    const q = own ? own.q : row === undefined ? undefined : this.q.subarray(row * this.factors, (row + 1) * this.factors);
    if (q) for (let k = 0; k < this.factors; k++) out[k] = out[k]! + q[k]!;
    return own ? own.b : row === undefined ? this.priorBias(popularity) : this.b[row]!;
  }

  /**
   * W·e of these text rows computed now, kept for `over` and `itemVector` (the read-ahead's, for the rows
   * the next Like's pool will hold: engine/scale-readahead.ts); returns how many were not kept yet.
   */
  prepare(rows: Iterable<Float32Array>): number {
    let projected = 0;
    for (const row of rows) {
      if (row.length !== this.embeddingDim || this.projections.has(row)) continue;
      this.project(row);
      projected++;
    }
    return projected;
  }

  /** W·e of a text row, kept per row (the same array is not projected again). */
  private project(row: Float32Array): Float32Array {
    let projected = this.projections.get(row);
    if (!projected) {
      // As HybridModel.projectRow computes it, so the scores are the same to the last bit.
      projected = matVec(this.W, this.embeddingDim, row, new Float32Array(this.factors));
      this.projections.set(row, projected);
    }
    return projected;
  }

  /**
   * Fits the prior to the head's items this catalog has (`popularityOf` their popularity, undefined for
   * an id it lacks): least squares of b on popularity. Fewer than two distinct popularities: the mean.
   */
  fitPrior(popularityOf: (id: string) => number | undefined): BiasPrior {
    let count = 0;
    let sx = 0;
    let sy = 0;
    let sxx = 0;
    let sxy = 0;
    for (const [id, row] of this.headRow) {
      const x = popularityOf(id);
      if (x === undefined || !Number.isFinite(x)) continue;
      const y = this.b[row]!;
      count++;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
    }
    const variance = count > 0 ? sxx / count - (sx / count) ** 2 : 0;
    if (count < 2 || variance < 1e-12) return (this.prior = { intercept: count > 0 ? sy / count : mean(this.b), slope: 0 });
    const slope = (sxy / count - (sx / count) * (sy / count)) / variance;
    return (this.prior = { intercept: sy / count - slope * (sx / count), slope });
  }

  /**
   * A HybridModel of `items` (in this order: its index c is items[c]), each with its text row: W and the
   * ranker are the global model's, q and b this device's own rows (`overrides`), else the head's rows,
   * else 0 and the prior. Its text rows lie in a
   * buffer the next `over` overwrites: a model is used for one rank, until the next is built.
   */
  over(items: readonly number[], rowOf: (index: number) => Float32Array, idOf: (index: number) => string, popularity: (index: number) => number): HybridModel {
    const { factors: d, embeddingDim: D } = this;
    if (this.rows.length < items.length * D) {
      this.rows = new Float32Array(Math.max(items.length * D, 2 * this.rows.length));
      this.rowsIn = [];
    }
    const embeddings = this.rows.subarray(0, items.length * D);
    const projections = new Float32Array(items.length * d);
    const rowsIn = this.rowsIn;
    for (let c = 0; c < items.length; c++) {
      const row = rowOf(items[c]!);
      // The rank's second model (the text pool and then the model's own candidates) starts with the first's rows: not copied again.
      if (rowsIn[c] !== row) {
        embeddings.set(row, c * D);
        rowsIn[c] = row;
      }
      projections.set(this.project(row), c * d);
    }
    const ids = items.map(idOf);
    const model = new HybridModel({ itemIds: ids, embeddings, embeddingDim: D, factors: d, W: this.W });
    ids.forEach((id, c) => {
      const own = this.overrides?.get(id);
      const row = this.headRow.get(id);
      if (own) {
        model.q.set(own.q, c * d);
        model.b[c] = own.b;
      } else if (row === undefined) {
        model.b[c] = this.prior.intercept + this.prior.slope * popularity(items[c]!);
      } else {
        model.q.set(this.q.subarray(row * d, (row + 1) * d), c * d);
        model.b[c] = this.b[row]!;
      }
    });
    model.ranker = new LogisticRanker(this.ranker.weights, this.ranker.bias);
    model.restoreProjections(projections);
    return model;
  }
}

function mean(values: Float32Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return values.length > 0 ? sum / values.length : 0;
}

/** What the pool's feed reads per catalog index (the catalog's arrays, the reader's profile). */
export interface PoolFeedInputs {
  items: readonly CatalogItem[];
  popularity: Float32Array;
  recency?: Float32Array;
  /** The content profile's unit direction, or null. */
  profile: Float32Array | null;
  /**
   * Item–item cosines kept from one rank to the next (the novelty feature's and MMR's pairs), with the
   * text rows the model was built from (`rowOf`: the same arrays PoolModel.over copied).
   */
  similarities?: { kept: RowSimilarities; rowOf: (index: number) => Float32Array | undefined };
}

/**
 * e_a · e_b of two text rows, kept by the rows themselves (the engine's arrays, the same from one rank to
 * the next) across ranks: after a Like the anchors are the same but one and part of the pool is too. The
 * same sum in the same order as rowDot over a model's rows (mmr.ts), so the same value to the bit. Past
 * `capacity` pairs everything is forgotten (a rank then computes its pairs again).
 */
export class RowSimilarities {
  private pairs = new WeakMap<Float32Array, Map<Float32Array, number>>();
  private count = 0;

  constructor(private readonly capacity = 100_000) {}

  between(a: Float32Array, b: Float32Array): number {
    let partners = this.pairs.get(a);
    const known = partners?.get(b) ?? this.pairs.get(b)?.get(a);
    if (known !== undefined) return known;
    let sum = 0;
    for (let t = 0; t < a.length; t++) sum += a[t]! * b[t]!;
    if (this.count >= this.capacity) {
      this.pairs = new WeakMap();
      this.count = 0;
      partners = undefined;
    }
    if (!partners) this.pairs.set(a, (partners = new Map()));
    partners.set(b, sum);
    this.count++;
    return sum;
  }
}

/** rankFeed's pair cache over a pool model's places: each place's text row, the pairs kept in RowSimilarities. */
class PoolPairs extends SimilarityCache {
  constructor(
    private readonly kept: RowSimilarities,
    private readonly rowsAt: readonly Float32Array[],
  ) {
    super(new Float32Array(0), 0, 0);
  }

  override between(a: number, b: number): number {
    return this.kept.between(this.rowsAt[a]!, this.rowsAt[b]!);
  }
}

/** Pool positions of catalog indices, and the mapping of sets and anchors through it. */
export class PoolIndex {
  private readonly at = new Map<number, number>();

  constructor(readonly members: readonly number[]) {
    members.forEach((index, c) => this.at.set(index, c));
  }

  local(index: number): number | undefined {
    return this.at.get(index);
  }

  set(set: ReadonlySet<number> | undefined): Set<number> | undefined {
    return set && new Set([...set].flatMap((index) => (this.at.has(index) ? [this.at.get(index)!] : [])));
  }

  anchors(anchors: readonly Anchor[]): Anchor[] {
    return anchors.flatMap((anchor) => (this.at.has(anchor.index) ? [{ ...anchor, index: this.at.get(anchor.index)! }] : []));
  }

  /** A recommendation made over the pool, in catalog indices. */
  back(recommendation: Recommendation): Recommendation {
    const term = (why: WhyTerm): WhyTerm => (why.kind === 'liked' || why.kind === 'similar' ? { ...why, item: this.members[why.item]! } : why);
    return { index: this.members[recommendation.index]!, score: recommendation.score, reason: recommendation.reason, why: recommendation.why.map(term) };
  }
}

/**
 * The model's feed over a pool (`pool.members`, the rows of `model`, built by PoolModel.over): the small
 * path's rankFeed (the model's score, the profile before the first like, the genre affinity after, the
 * feed rules, the ranker, MMR, the reasons) with every per-item input restricted to the pool.
 */
export function rankFeedOver(model: HybridModel, user: Float32Array, pool: PoolIndex, inputs: PoolFeedInputs, request: RankRequest): Recommendation[] {
  const { members } = pool;
  const items = members.map((index) => inputs.items[index]!);
  const query = request.query;
  const liked = pool.set(request.liked);
  const disliked = pool.set(request.disliked);
  const kept = inputs.similarities;
  const rowsAt = kept && members.map((index) => kept.rowOf(index));
  const similarities = rowsAt?.every((row) => row?.length === model.embeddingDim) ? new PoolPairs(kept!.kept, rowsAt as Float32Array[]) : undefined;
  const ranked = rankFeed({
    model,
    ...(similarities ? { similarities } : {}),
    user,
    k: request.k,
    exclude: pool.set(request.exclude)!,
    anchors: pool.anchors(request.anchors),
    popularity: Float32Array.from(members, (index) => inputs.popularity[index]!),
    ...(inputs.recency ? { recency: Float32Array.from(members, (index) => inputs.recency![index]!) } : {}),
    profile: inputs.profile,
    titles: items.map((item) => item.title),
    genres: items.map((item) => item.genres),
    series: seriesIndexFor(items),
    diversity: request.diversity ?? 0,
    ...(query ? { query: { ...query, ...(query.lexical ? { lexical: Float32Array.from(members, (index) => query.lexical![index]!) } : {}) } } : {}),
    ...(liked ? { liked } : {}),
    ...(disliked ? { disliked } : {}),
    ...(request.chosenGenres ? { chosenGenres: request.chosenGenres } : {}),
  });
  return ranked.map((recommendation) => pool.back(recommendation));
}
