/**
 * The hybrid matrix-factorisation model of ARCHITECTURE.md:
 *   item vector v_i = W·e_i + q_i   (e_i text embedding, W: d×D shared projection, q_i item residual)
 *   score       s(u,i) = u·v_i + b_i
 * Parameters are plain Float32Arrays so scoring runs anywhere (worker, Node, tests) without a tensor
 * runtime; training with TF.js lives in train.ts. The user vector u is never part of the parameters:
 * it stays on the device.
 */
import { assertWellFormed, layoutMismatch, layoutOf, type ParamSet, type TensorLayout } from '../federated/params';
import { principalDirections } from './pca';
import { LogisticRanker, RANKER_FEATURE_COUNT } from './ranker';
import { matVec } from '../vector';
import { firstOutOfRangeWeight, MAX_ABS_WEIGHT } from '../limits';

export const PARAM_W = 'W';
export const PARAM_Q = 'q';
export const PARAM_B = 'b';
export const PARAM_RANKER_WEIGHTS = 'ranker/weights';
export const PARAM_RANKER_BIAS = 'ranker/bias';

export const DEFAULT_FACTORS = 64;

export interface HybridModelInit {
  /** Catalog item ids, in catalog order; the rows of q and b follow this order. */
  itemIds: readonly string[];
  /** Item text embeddings, row-major itemCount×embeddingDim (unit vectors from the encoder). */
  embeddings: Float32Array;
  embeddingDim: number;
  /** d, the size of u and v_i (32–64 in practice). */
  factors?: number;
  seed?: number;
  /** A known projection (d×D, e.g. restored from storage): skips the PCA, which takes seconds at 10k items. */
  W?: Float32Array;
}

/** A parameter set the model refused; `message` says which parameter and why, for people. */
export class ModelParamsError extends Error {
  override name = 'ModelParamsError';
}

export class HybridModel {
  readonly itemIds: readonly string[];
  readonly itemCount: number;
  readonly embeddingDim: number;
  readonly factors: number;
  readonly embeddings: Float32Array;
  /** d×D, row-major. */
  W: Float32Array;
  /** itemCount×d, row-major; zero rows for items nobody has interacted with. */
  q: Float32Array;
  /** itemCount. */
  b: Float32Array;
  ranker: LogisticRanker;
  private vectors: Float32Array | null = null;
  private projections: { W: Float32Array; values: Float32Array } | null = null;

  /**
   * A model from text alone (no global model): W is the top-d principal directions of the catalog's
   * embeddings (orthonormal rows), q = 0, b = 0. Why PCA rather than a random projection: with
   * orthonormal W, u·W·e_i = (Wᵀu)·e_i, so a user vector built from liked items' W·e is exactly a
   * content profile seen through the d directions along which this catalog's texts differ most;
   * a random projection of 512 → 64 keeps only distances on average and adds noise to every score.
   */
  constructor(init: HybridModelInit) {
    const factors = init.factors ?? DEFAULT_FACTORS;
    const itemCount = init.itemIds.length;
    if (init.embeddings.length !== itemCount * init.embeddingDim) {
      throw new RangeError(`embeddings have ${init.embeddings.length} values, expected ${itemCount} items × ${init.embeddingDim}`);
    }
    if (factors > init.embeddingDim) throw new RangeError(`factors (${factors}) exceed the embedding size`);
    this.itemIds = init.itemIds;
    this.itemCount = itemCount;
    this.embeddingDim = init.embeddingDim;
    this.factors = factors;
    this.embeddings = init.embeddings;
    if (init.W && init.W.length !== factors * init.embeddingDim) {
      throw new RangeError(`W has ${init.W.length} values, expected ${factors}×${init.embeddingDim}`);
    }
    this.W = init.W ? Float32Array.from(init.W) : principalDirections(init.embeddings, itemCount, init.embeddingDim, factors, init.seed ?? 1).basis;
    this.q = new Float32Array(itemCount * factors);
    this.b = new Float32Array(itemCount);
    this.ranker = new LogisticRanker();
  }

  /**
   * v_i for every item, row-major itemCount×d; cached until q changes (call invalidate()) or W is
   * replaced (noticed here).
   */
  itemVectors(): Float32Array {
    if (!this.vectors || this.projections?.W !== this.W) {
      const projections = this.currentProjections();
      const out = new Float32Array(this.itemCount * this.factors);
      for (let i = 0; i < this.itemCount; i++) this.sumRow(out, projections, i);
      this.vectors = out;
    }
    return this.vectors;
  }

  /**
   * Computes every v_i `slice` items at a time, awaiting `pause()` between slices: for 10,000 items a
   * few hundred milliseconds of arithmetic that would otherwise block the worker at the first rank
   * (200 rows at d = 32, D = 512: ~3M multiply-adds, a few milliseconds, per slice).
   * Parameters must not change meanwhile (the caller has not handed the model out yet).
   */
  async prepareItemVectors(pause: () => Promise<void>, slice = 200): Promise<void> {
    if (this.vectors) return;
    const W = this.W;
    const projections = new Float32Array(this.itemCount * this.factors);
    const out = new Float32Array(this.itemCount * this.factors);
    for (let from = 0; from < this.itemCount; from += slice) {
      for (let i = from; i < Math.min(this.itemCount, from + slice); i++) {
        this.projectRow(projections, i);
        this.sumRow(out, projections, i);
      }
      await pause();
    }
    this.projections = { W, values: projections };
    this.vectors = out;
  }

  /** True once every v_i is known for the current W (ranking will not compute them first). */
  get itemVectorsReady(): boolean {
    return this.vectors !== null && this.projections?.W === this.W;
  }

  /** W·e_i for every item (row-major itemCount×d) if computed for the current W, else null: for keeping across visits. */
  projectionsIfReady(): Float32Array | null {
    return this.projections?.W === this.W ? this.projections.values : null;
  }

  /**
   * Takes W·e_i for every item from a previous visit instead of computing them (10,000 items × d × D
   * multiply-adds, most of a second on a slow machine). The caller vouches that they were computed
   * for this W and these embeddings (PersonalModel keys them by both).
   */
  restoreProjections(values: Float32Array): void {
    if (values.length !== this.itemCount * this.factors) {
      throw new RangeError(`projections have ${values.length} values, expected ${this.itemCount} items × ${this.factors}`);
    }
    const out = new Float32Array(this.itemCount * this.factors);
    for (let i = 0; i < this.itemCount; i++) this.sumRow(out, values, i);
    this.projections = { W: this.W, values };
    this.vectors = out;
  }

  /**
   * W·e_i for every item, for the current W (recomputed when W was replaced). Kept apart from v_i
   * because an online step changes q only: v_i = W·e_i + q_i is then d additions per touched item,
   * not d×D multiply-adds.
   */
  private currentProjections(): Float32Array {
    if (this.projections?.W !== this.W) {
      const values = new Float32Array(this.itemCount * this.factors);
      for (let i = 0; i < this.itemCount; i++) this.projectRow(values, i);
      this.projections = { W: this.W, values };
    }
    return this.projections.values;
  }

  /** out[i] = W·e_i (row i of a row-major itemCount×d matrix). */
  private projectRow(out: Float32Array, i: number): void {
    const { factors, embeddingDim, W, embeddings } = this;
    // W·e_i: four rows of W per pass (matVec), each a sum over t in order, as one row at a time gave.
    matVec(W, embeddingDim, embeddings.subarray(i * embeddingDim, (i + 1) * embeddingDim), out.subarray(i * factors, (i + 1) * factors));
  }

  /** out[i] = projections[i] + q_i. */
  private sumRow(out: Float32Array, projections: Float32Array, i: number): void {
    const { factors, q } = this;
    for (let f = i * factors; f < (i + 1) * factors; f++) out[f] = projections[f]! + q[f]!;
  }

  /**
   * Drop cached item vectors after W or q changed; with `items`, only those rows are recomputed (their
   * q changed: cheap). Embeddings that changed are announced with embeddingsChanged instead.
   */
  invalidate(items?: Iterable<number>): void {
    if (!items || !this.vectors || this.projections?.W !== this.W) {
      this.vectors = null;
      if (!items) this.projections = null;
      return;
    }
    for (const i of items) this.sumRow(this.vectors, this.projections.values, i);
  }

  /** The embeddings of these items changed (filled in place): their W·e_i and v_i are recomputed. */
  embeddingsChanged(items: Iterable<number>): void {
    if (!this.projections || this.projections.W !== this.W) return this.invalidate();
    for (const i of items) this.projectRow(this.projections.values, i);
    if (this.vectors) for (const i of items) this.sumRow(this.vectors, this.projections.values, i);
  }

  /** W·e for any embedding (a query, a new item): the text part of an item vector. */
  project(embedding: Float32Array): Float32Array {
    const out = new Float32Array(this.factors);
    for (let f = 0; f < this.factors; f++) {
      let sum = 0;
      for (let t = 0; t < this.embeddingDim; t++) sum += this.W[f * this.embeddingDim + t]! * embedding[t]!;
      out[f] = sum;
    }
    return out;
  }

  /** s(u,i) for every item: one pass of itemCount×d multiply-adds (6.4M at 100k items, d = 64). */
  scoreAll(user: Float32Array, out: Float32Array = new Float32Array(this.itemCount)): Float32Array {
    return matVec(this.itemVectors(), this.factors, user, out, this.b);
  }

  score(user: Float32Array, item: number): number {
    const vectors = this.itemVectors();
    let sum = this.b[item]!;
    for (let f = 0; f < this.factors; f++) sum += user[f]! * vectors[item * this.factors + f]!;
    return sum;
  }

  /** A fresh user vector: zero, so a new user is ranked by bias (popularity, if trained) and the ranker's features. */
  newUserVector(): Float32Array {
    return new Float32Array(this.factors);
  }

  /** The shared parameters (never u), as copies: safe to hand to the federated code or a file. */
  getParams(): ParamSet {
    return {
      [PARAM_W]: { shape: [this.factors, this.embeddingDim], values: Float32Array.from(this.W) },
      [PARAM_Q]: { shape: [this.itemCount, this.factors], values: Float32Array.from(this.q) },
      [PARAM_B]: { shape: [this.itemCount], values: Float32Array.from(this.b) },
      [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: Float32Array.from(this.ranker.weights) },
      [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(this.ranker.bias) },
    };
  }

  /**
   * Replaces the shared parameters after checking them all; on any problem throws a ModelParamsError
   * naming it, and the current parameters stay untouched. `itemIds`, when the file carries them, must
   * equal the catalog's (same ids, same order).
   */
  setParams(params: ParamSet, itemIds?: readonly string[]): void {
    const problem = this.checkParams(params, itemIds);
    if (problem) throw new ModelParamsError(problem);
    this.W = Float32Array.from(params[PARAM_W]!.values);
    this.q = Float32Array.from(params[PARAM_Q]!.values);
    this.b = Float32Array.from(params[PARAM_B]!.values);
    this.ranker = new LogisticRanker(params[PARAM_RANKER_WEIGHTS]!.values, params[PARAM_RANKER_BIAS]!.values[0]!);
    this.invalidate();
  }

  /** Why `params` cannot be loaded into this model, or null if they can. */
  checkParams(params: ParamSet, itemIds?: readonly string[]): string | null {
    try {
      assertWellFormed(params);
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
    if (itemIds) {
      if (itemIds.length !== this.itemCount) {
        return `the model has ${itemIds.length} items, the catalog ${this.itemCount}`;
      }
      const at = itemIds.findIndex((id, i) => id !== this.itemIds[i]);
      if (at >= 0) return `item ${at} is '${itemIds[at]}' in the model but '${this.itemIds[at]}' in the catalog`;
    }
    const q = params[PARAM_Q];
    if (q && q.shape.length === 2 && q.shape[0] !== this.itemCount) {
      return `the model has ${q.shape[0]} items (parameter 'q'), the catalog ${this.itemCount}`;
    }
    const W = params[PARAM_W];
    if (W && W.shape.length === 2 && W.shape[1] !== this.embeddingDim) {
      return `parameter 'W' expects ${W.shape[1]}-dimensional embeddings, the encoder gives ${this.embeddingDim}`;
    }
    const mismatch = layoutMismatch(this.paramLayout(), layoutOf(params));
    if (mismatch) return mismatch;
    // A plain loop: this runs over every stored value when a returning visit restores its model.
    // Bounded, not only finite: at ±3e38 every score overflows to ±Infinity (core/limits.ts).
    for (const [name, { values }] of Object.entries(params)) {
      const i = firstOutOfRangeWeight(values);
      if (i < 0) continue;
      return Number.isFinite(values[i]!)
        ? `parameter '${name}' has a value (${values[i]}) beyond ±${MAX_ABS_WEIGHT} at index ${i}`
        : `parameter '${name}' has a non-finite value (${values[i]}) at index ${i}`;
    }
    return null;
  }

  /** The names and shapes getParams() returns (in its order), without copying any values. */
  paramLayout(): TensorLayout[] {
    return [
      { name: PARAM_W, shape: [this.factors, this.embeddingDim] },
      { name: PARAM_Q, shape: [this.itemCount, this.factors] },
      { name: PARAM_B, shape: [this.itemCount] },
      { name: PARAM_RANKER_WEIGHTS, shape: [RANKER_FEATURE_COUNT] },
      { name: PARAM_RANKER_BIAS, shape: [1] },
    ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
