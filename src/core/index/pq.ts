/**
 * Product quantisation for inner products (Jégou et al. 2011): a vector of `dim` values is cut into
 * `subspaces` equal slices; each slice is replaced by the nearest of 256 centroids learned by k-means
 * on a sample, so an item costs `subspaces` bytes. A query's score against every centroid is one
 * small table per slice; an item's approximate u·v is then one lookup per byte (./scan.ts).
 */
import { seededUniform } from '../random';
import { sampleRows, type RowSource } from './rows';
import { scanTables, TABLE_SIZE } from './scan';

export interface PqCodebook {
  dim: number;
  subspaces: number;
  /** Centroids per subspace (≤ 256: one byte per code). */
  centroids: number;
  /** subspaces × centroids × (dim / subspaces), row-major. */
  values: Float32Array;
}

export interface PqTrainOptions {
  subspaces: number;
  centroids?: number;
  /** Rows k-means learns from (a sample of the source). */
  sample?: number;
  iterations?: number;
  seed?: number;
}

/** Learns the codebook: k-means (Lloyd) per subspace on a seeded sample of the rows. */
export function trainPq(source: RowSource, options: PqTrainOptions): PqCodebook {
  const { dim } = source;
  const subspaces = options.subspaces;
  const centroids = Math.min(options.centroids ?? TABLE_SIZE, TABLE_SIZE);
  if (!(subspaces >= 1 && dim % subspaces === 0)) throw new RangeError(`${dim} dimensions do not split into ${subspaces} equal subspaces`);
  const uniform = seededUniform(options.seed ?? 1);
  const rows = sampleRows(source.count, options.sample ?? 20_000, uniform);
  const n = rows.length;
  if (n === 0) throw new RangeError('no rows to train on');
  const sub = dim / subspaces;
  // The sample, one contiguous block per subspace (n × sub), so k-means reads it linearly.
  const blocks = Array.from({ length: subspaces }, () => new Float32Array(n * sub));
  const row = new Float32Array(dim);
  for (let r = 0; r < n; r++) {
    source.row(rows[r]!, row);
    for (let s = 0; s < subspaces; s++) blocks[s]!.set(row.subarray(s * sub, (s + 1) * sub), r * sub);
  }
  const values = new Float32Array(subspaces * centroids * sub);
  for (let s = 0; s < subspaces; s++) {
    values.set(kMeans(blocks[s]!, n, sub, centroids, options.iterations ?? 12, uniform), s * centroids * sub);
  }
  return { dim, subspaces, centroids, values };
}

/**
 * Lloyd's k-means on n points of `dim` (row-major): k centroids, row-major. Starts from k distinct
 * sample points; a centroid left empty takes a random point, so all k stay in use.
 */
export function kMeans(points: Float32Array, n: number, dim: number, k: number, iterations: number, uniform: () => number): Float32Array {
  const centres = new Float32Array(k * dim);
  const start = sampleRows(n, k, uniform);
  for (let c = 0; c < k; c++) {
    const from = start[c % start.length]!;
    centres.set(points.subarray(from * dim, (from + 1) * dim), c * dim);
  }
  const assignment = new Int32Array(n);
  const sums = new Float64Array(k * dim);
  const sizes = new Int32Array(k);
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (let p = 0; p < n; p++) assignment[p] = nearest(centres, k, dim, points, p * dim);
    sums.fill(0);
    sizes.fill(0);
    for (let p = 0; p < n; p++) {
      const c = assignment[p]!;
      sizes[c]!++;
      for (let t = 0; t < dim; t++) sums[c * dim + t]! += points[p * dim + t]!;
    }
    for (let c = 0; c < k; c++) {
      if (sizes[c] === 0) {
        const p = Math.floor(uniform() * n);
        centres.set(points.subarray(p * dim, (p + 1) * dim), c * dim);
        continue;
      }
      for (let t = 0; t < dim; t++) centres[c * dim + t] = sums[c * dim + t]! / sizes[c]!;
    }
  }
  return centres;
}

/** Index of the centre (k × dim) nearest in Euclidean distance to points[at … at + dim). */
function nearest(centres: Float32Array, k: number, dim: number, points: ArrayLike<number>, at: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let c = 0; c < k; c++) {
    let distance = 0;
    for (let t = 0; t < dim && distance < bestDistance; t++) {
      const d = points[at + t]! - centres[c * dim + t]!;
      distance += d * d;
    }
    if (distance < bestDistance) {
      bestDistance = distance;
      best = c;
    }
  }
  return best;
}

/** Codes of rows [from, to) of the source: (to − from) × subspaces bytes. */
export function encodePq(codebook: PqCodebook, source: RowSource, from = 0, to = source.count): Uint8Array {
  if (source.dim !== codebook.dim) throw new RangeError(`the codebook codes ${codebook.dim} dimensions, the rows have ${source.dim}`);
  const { subspaces, centroids, dim } = codebook;
  const sub = dim / subspaces;
  const codes = new Uint8Array((to - from) * subspaces);
  const row = new Float32Array(dim);
  for (let i = from; i < to; i++) {
    source.row(i, row);
    for (let s = 0; s < subspaces; s++) {
      const centres = codebook.values.subarray(s * centroids * sub, (s + 1) * centroids * sub);
      codes[(i - from) * subspaces + s] = nearest(centres, centroids, sub, row.subarray(s * sub, (s + 1) * sub), 0);
    }
  }
  return codes;
}

/** The vector an item's codes stand for (the centroids, concatenated). */
export function decodePq(codebook: PqCodebook, codes: Uint8Array, item: number, out = new Float32Array(codebook.dim)): Float32Array {
  const { subspaces, centroids, dim } = codebook;
  const sub = dim / subspaces;
  for (let s = 0; s < subspaces; s++) {
    const c = codes[item * subspaces + s]!;
    out.set(codebook.values.subarray((s * centroids + c) * sub, (s * centroids + c + 1) * sub), s * sub);
  }
  return out;
}

/** query · centroid for every centroid of every subspace: subspaces × 256 (unused entries 0). */
export function pqTables(codebook: PqCodebook, query: Float32Array, out = new Float32Array(codebook.subspaces * TABLE_SIZE)): Float32Array {
  const { subspaces, centroids, dim } = codebook;
  if (query.length !== dim) throw new RangeError(`the query has ${query.length} values, the codebook ${dim}`);
  const sub = dim / subspaces;
  out.fill(0);
  for (let s = 0; s < subspaces; s++) {
    for (let c = 0; c < centroids; c++) {
      let sum = 0;
      const at = (s * centroids + c) * sub;
      for (let t = 0; t < sub; t++) sum += query[s * sub + t]! * codebook.values[at + t]!;
      out[s * TABLE_SIZE + c] = sum;
    }
  }
  return out;
}

/** Approximate u·v_i (+ b_i) of every item from its PQ codes. */
export function pqScan(codebook: PqCodebook, codes: Uint8Array, query: Float32Array, out: Float32Array, bias?: Float32Array): Float32Array {
  return scanTables(codes, codebook.subspaces, pqTables(codebook, query), out, undefined, bias);
}

/**
 * Re-codes the rows of `items` in place (their vectors changed: a fine-tune moved their q_i), the
 * codebook kept: the cost is per changed item, not per catalog. The codebook itself is retrained only
 * when the vectors move as a whole (a new W: a new global model).
 */
export function updatePqCodes(codebook: PqCodebook, codes: Uint8Array, source: RowSource, items: Iterable<number>): void {
  for (const item of items) codes.set(encodePq(codebook, source, item, item + 1), item * codebook.subspaces);
}
