/**
 * A membership attack on exported deltas, for benchmarks of privacy invariant 4: guess which items
 * a user touched from the size of each item's slice of the delta (its row of q and its entry of b).
 * Without noise the touched items are exactly the non-zero rows, so the attack is perfect (AUC 1);
 * with enough noise it should be no better than chance (AUC ≈ 0.5).
 */
import type { ParamSet } from './params';

export interface ItemParamNames {
  /** Tensors of shape [items, d] with one row per item (default ['q']). */
  rows?: readonly string[];
  /** Tensors of shape [items] with one entry per item (default ['b']). */
  entries?: readonly string[];
}

/** Score of item i: the L2 norm of its rows and entries together. */
export function itemDeltaScores(delta: ParamSet, names: ItemParamNames = {}): Float64Array {
  const rows = names.rows ?? ['q'];
  const entries = names.entries ?? ['b'];
  let count = -1;
  const setCount = (name: string, n: number): void => {
    if (count >= 0 && n !== count) throw new RangeError(`parameter '${name}' covers ${n} items, another one ${count}`);
    count = n;
  };
  for (const name of rows) {
    const t = delta[name];
    if (!t || t.shape.length !== 2) throw new RangeError(`parameter '${name}' must exist and be a matrix [items, d]`);
    setCount(name, t.shape[0]!);
  }
  for (const name of entries) {
    const t = delta[name];
    if (!t || t.shape.length !== 1) throw new RangeError(`parameter '${name}' must exist and be a vector [items]`);
    setCount(name, t.shape[0]!);
  }
  if (count < 0) throw new RangeError('no per-item parameters named');
  const squares = new Float64Array(count);
  for (const name of rows) {
    const { shape, values } = delta[name]!;
    const d = shape[1]!;
    for (let i = 0; i < count; i++) for (let j = 0; j < d; j++) squares[i]! += values[i * d + j]! ** 2;
  }
  for (const name of entries) {
    const values = delta[name]!.values;
    for (let i = 0; i < count; i++) squares[i]! += values[i]! ** 2;
  }
  return squares.map(Math.sqrt);
}

/**
 * ROC AUC of `scores` for the positives (indices of touched items): the probability that a random
 * touched item outscores a random untouched one, ties counting one half (Mann–Whitney U with mid-ranks).
 */
export function rocAuc(scores: ArrayLike<number>, positives: ReadonlySet<number>): number {
  const n = scores.length;
  const nPos = [...positives].filter((i) => i >= 0 && i < n).length;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new RangeError('the AUC needs at least one touched and one untouched item');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const midRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) if (positives.has(order[k]!)) rankSum += midRank;
    start = end + 1;
  }
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
