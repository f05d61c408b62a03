/** q restricted to chosen rows (`--secure-q-rows`): which rows, and moving them in and out of a full q. */
import type { ParamSet } from '../../src/core/federated/params';

/**
 * The `count` items with the highest published bias (ties by index): the rows of q the devices export. The
 * published b is the previous rounds' released sums, so choosing by it is post-processing; before any round
 * (b all zero) no row is chosen.
 */
export function topRows(b: Float32Array, count: number): number[] | null {
  if (b.every((x) => x === 0)) return null;
  return Array.from(b.keys())
    .sort((i, j) => b[j]! - b[i]! || i - j)
    .slice(0, count);
}

/** q's rows `rows` as a count×d tensor (zero rows where `rows` is null: the slots are still sent, as noise). */
export function gatherRows(q: ParamSet[string], rows: number[], count: number): ParamSet[string] {
  const d = q.shape[1]!;
  const values = new Float32Array(count * d);
  rows.forEach((item, r) => values.set(q.values.subarray(item * d, (item + 1) * d), r * d));
  return { shape: [count, d], values };
}

/** An exported set with its q rows put back in place (or q left out where no row was chosen: those slots held only noise). */
export function withRows(set: ParamSet, rows: number[] | null, itemCount: number): ParamSet {
  const { q, ...rest } = set;
  return rows && q ? { ...rest, q: scatterRows(q, rows, itemCount) } : rest;
}

/** The inverse of gatherRows: a full items×d update with the chosen rows filled in. */
function scatterRows(part: ParamSet[string], rows: number[], itemCount: number): ParamSet[string] {
  const d = part.shape[1]!;
  const values = new Float32Array(itemCount * d);
  rows.forEach((item, r) => values.set(part.values.subarray(r * d, (r + 1) * d), item * d));
  return { shape: [itemCount, d], values };
}
