/**
 * The recommendation model's own candidates over every item of a catalog at scale (issue 21;
 * docs/scale.md "Stop 38: the model at scale"), without v_i for every item.
 *
 * Outside the head q_i = 0, so v_i = W·e_i and the score is u·W·e_i + b_i = (Wᵀu)·e_i + b_i: a search of
 * the text index (the publisher's sign codes of the text rows e_i, stage one, then the exact dot product
 * over the candidates' int8 rows) with the query vector z = Wᵀu, in the same D-dim space as the rows the
 * codes were made of (the index rotates z as it rotates a text query: `encodeSign`'s codebook applies to
 * any D-dim query). The codes estimate the angle, so the search ranks by z·e_i/‖z‖, which is z·e_i's
 * order for unit rows (the encoders normalise: ‖e_i‖ = 1 up to int8). b_i is then added to the
 * candidates' exact scores: the prior's line in popularity, so the most popular items (whose b is the
 * largest where the slope is positive) are scored too. The head's items are scored exactly over all of
 * them with their q_i (v_i = W·e_i + q_i, kept d floats each: `HeadVectors`), whatever the index finds.
 * The items with the device's own q_i, b_i (item-overrides.ts) are scored exactly with those.
 */
import { topK } from '../topk';
import { dot } from '../vector';
import type { PoolModel } from './pool-model';

/** The head's v_i and b_i for the items of this catalog (rows of ids it lacks are left out). */
export class HeadVectors {
  private constructor(
    /** Catalog index of each kept row, ascending. */
    readonly items: Int32Array,
    /** v_i = W·e_i + q_i, d floats each. */
    readonly vectors: Float32Array,
    readonly bias: Float32Array,
    readonly factors: number,
  ) {}

  /**
   * `rowsOf(indices)`: their text rows as the device holds them (undefined where none is stored yet:
   * then v_i = q_i, the text's part is missing until the head is built again), asked in chunks of `chunk`;
   * `pause` is awaited after each chunk (a worker answers its messages between them: 100,000 head rows
   * are 1.6·10⁹ multiply-adds).
   */
  static async build(
    model: PoolModel,
    indexOf: (id: string) => number | undefined,
    rowsOf: (indices: readonly number[]) => readonly (Float32Array | undefined)[],
    options: { chunk?: number; pause?: () => Promise<void> } = {},
  ): Promise<HeadVectors> {
    const chunk = options.chunk ?? 1024;
    const d = model.factors;
    const head: { index: number; row: number }[] = [];
    for (const [id, row] of model.headIds()) {
      const index = indexOf(id);
      if (index !== undefined) head.push({ index, row });
    }
    head.sort((a, b) => a.index - b.index);
    const items = Int32Array.from(head, (entry) => entry.index);
    const vectors = new Float32Array(head.length * d);
    const bias = new Float32Array(head.length);
    for (let start = 0; start < head.length; start += chunk) {
      const part = head.slice(start, start + chunk);
      const rows = rowsOf(part.map((entry) => entry.index));
      part.forEach((entry, c) => {
        bias[start + c] = model.headVector(entry.row, rows[c], vectors.subarray((start + c) * d, (start + c + 1) * d));
      });
      await options.pause?.();
    }
    return new HeadVectors(items, vectors, bias, d);
  }

  /** The kept row of catalog index `index` (items is sorted), or −1. */
  rowOf(index: number): number {
    const items = this.items;
    let low = 0;
    let high = items.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const at = items[middle]!;
      if (at === index) return middle;
      if (at < index) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }

  /** Whether catalog index `index` is one of the head's kept rows. */
  has(index: number): boolean {
    return this.rowOf(index) >= 0;
  }

  /** u·v_i + b_i of every kept row (into `out`). */
  scores(user: Float32Array, out: Float32Array = new Float32Array(this.items.length)): Float32Array {
    const d = this.factors;
    for (let r = 0; r < this.items.length; r++) {
      let sum = this.bias[r]!;
      for (let k = 0; k < d; k++) sum += user[k]! * this.vectors[r * d + k]!;
      out[r] = sum;
    }
    return out;
  }
}

/** z = Wᵀu (D floats): the text-space query whose dot product with e_i is u·W·e_i. */
export function textQuery(model: PoolModel, user: Float32Array): Float32Array {
  const { factors: d, embeddingDim: D, W } = model;
  const z = new Float32Array(D);
  for (let k = 0; k < d; k++) {
    const uk = user[k]!;
    if (uk === 0) continue;
    const offset = k * D;
    for (let t = 0; t < D; t++) z[t] = z[t]! + uk * W[offset + t]!;
  }
  return z;
}

/**
 * The text index's search as the model asks it: the top k items by z·e_i (exact for its candidates), with
 * those scores; `stageOne`, when given: the candidates are stage one's for that vector instead of `query`'s
 * (then scored exactly by `query`).
 */
export type TextSearch = (
  query: Float32Array,
  k: number,
  exclude: (index: number) => boolean,
  stageOne?: Float32Array,
) => { items: readonly number[]; scores: readonly number[] };

export interface ModelCandidateOptions {
  model: PoolModel;
  head: HeadVectors;
  user: Float32Array;
  search: TextSearch;
  popularity: (index: number) => number;
  /** Items never returned (the reader's marks, rows not stored). */
  exclude: (index: number) => boolean;
  /** The candidates kept, best first by the model's score. */
  k: number;
  /** How many the text search returns (its own stage one keeps more). */
  textCandidates: number;
  /**
   * The text-space vector whose stage one gives the text search's candidates, scored by Wᵀu exactly: Wᵀu as
   * the read-ahead predicted it (engine/scale-model.ts predictLike). Absent, zero or equal to Wᵀu: Wᵀu's own.
   */
  stageOne?: Float32Array;
  /** Items outside the head scored exactly too, with their rows (the most popular: the prior's largest b where its slope is positive). */
  alsoScore?: { items: readonly number[]; rowOf: (index: number) => Float32Array | undefined };
  /**
   * The items with this device's own q_i, b_i (model.overrides), scored exactly with them (v_i = W·e_i +
   * q_i), replacing the head's or the index's score; one without a row keeps the score it had.
   */
  own?: { items: readonly number[]; rowOf: (index: number) => Float32Array | undefined; idOf: (index: number) => string };
}

/** The model's top k items by u·v_i + b_i: the head scored exactly, the rest by the text index's search with Wᵀu plus the prior's b. */
export function modelCandidates(options: ModelCandidateOptions): { items: number[]; scores: number[] } {
  const { model, head, user, popularity, exclude, k } = options;
  // The scored items in one list, in the order they are first scored (the head's in catalog order, the
  // index's finds, the popular items, then the device's own rows not scored before): topK breaks ties by
  // that order. Plain arrays, not a Map of ~10,000 entries a rank (stop 40: ~3 ms of a Like in Node).
  const items: number[] = [];
  const scores: number[] = [];
  const headScores = head.scores(user);
  /** Where each head row's item lies in `items` (−1: excluded). */
  const headAt = new Int32Array(head.items.length).fill(-1);
  for (let r = 0; r < head.items.length; r++) {
    const index = head.items[r]!;
    if (exclude(index)) continue;
    headAt[r] = items.length;
    items.push(index);
    scores.push(headScores[r]!);
  }
  /** Where the items outside the head lie in `items`. */
  const others = new Map<number, number>();
  const add = (index: number, score: number) => {
    others.set(index, items.length);
    items.push(index);
    scores.push(score);
  };
  const z = textQuery(model, user);
  if (z.some((x) => x !== 0)) {
    const predicted = options.stageOne;
    const stageOne = predicted?.some((x) => x !== 0) && predicted.some((x, t) => x !== z[t]) ? predicted : undefined;
    const found = options.search(z, options.textCandidates, (index) => head.has(index) || exclude(index), stageOne);
    found.items.forEach((index, c) => {
      const score = found.scores[c]! + model.priorBias(popularity(index));
      const at = others.get(index);
      if (at === undefined) add(index, score);
      else scores[at] = score;
    });
  }
  const also = options.alsoScore;
  for (const index of also?.items ?? []) {
    if (head.has(index) || others.has(index) || exclude(index)) continue;
    const row = also!.rowOf(index);
    if (!row) continue;
    add(index, dot(z, row) + model.priorBias(popularity(index)));
  }
  const own = options.own;
  if (own && own.items.length > 0) {
    const v = new Float32Array(model.factors);
    for (const index of own.items) {
      const row = own.rowOf(index);
      if (!row || exclude(index)) continue;
      const b = model.itemVector(own.idOf(index), row, popularity(index), v);
      const score = dot(user, v) + b;
      const r = head.rowOf(index);
      const at = r >= 0 ? headAt[r]! : (others.get(index) ?? -1);
      if (at >= 0) scores[at] = score;
      else add(index, score);
    }
  }
  const order = topK(scores, k);
  return { items: order.map((c) => items[c]!), scores: order.map((c) => scores[c]!) };
}
