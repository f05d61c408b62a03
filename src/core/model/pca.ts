/**
 * Principal directions of a set of row vectors, by orthogonal (subspace) iteration on the covariance.
 * Used twice: as the default projection W when no global model exists (so u·W·e behaves like a
 * content profile restricted to the directions where the catalog actually varies), and as a fixed
 * basis that makes training W cheap (W is learned inside the top-k subspace of the embeddings).
 */
import { seededUniform } from '../random';

export interface PrincipalDirections {
  /** Mean of the rows (length dim). */
  mean: Float32Array;
  /** k orthonormal directions, row-major k×dim, strongest first. */
  basis: Float32Array;
  /** Variance along each direction (length k), descending. */
  variances: Float64Array;
  count: number;
  dim: number;
}

/** At most this many rows enter the covariance: 4,096 rows estimate a 512-d covariance well, and a 100k catalog stays fast. */
const MAX_ROWS = 4096;

/**
 * Top-k principal directions of `rows` (row-major, `rowCount`×`dim`). Deterministic for a given seed.
 * Cost: O(min(rowCount, 4096)·dim² + iterations·dim²·k).
 */
export function principalDirections(rows: Float32Array, rowCount: number, dim: number, k: number, seed = 1, iterations = 40): PrincipalDirections {
  if (rows.length !== rowCount * dim) throw new RangeError(`expected ${rowCount}×${dim} values, got ${rows.length}`);
  const count = Math.min(k, dim);
  const step = rowCount > MAX_ROWS ? rowCount / MAX_ROWS : 1;
  const used: number[] = [];
  for (let r = 0; r < rowCount && used.length < MAX_ROWS; r += step) used.push(Math.floor(r));
  const mean = new Float64Array(dim);
  for (const r of used) for (let j = 0; j < dim; j++) mean[j]! += rows[r * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(1, used.length);
  // Covariance in float64: sums over thousands of rows lose precision in float32.
  const cov = new Float64Array(dim * dim);
  const centered = new Float64Array(dim);
  for (const r of used) {
    for (let j = 0; j < dim; j++) centered[j] = rows[r * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ca = centered[a]!;
      if (ca === 0) continue;
      const offset = a * dim;
      for (let b = a; b < dim; b++) cov[offset + b]! += ca * centered[b]!;
    }
  }
  const denominator = Math.max(1, used.length - 1);
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const value = cov[a * dim + b]! / denominator;
      cov[a * dim + b] = value;
      cov[b * dim + a] = value;
    }
  }
  // Orthogonal iteration: Q ← orth(C·Q), starting from a seeded random basis.
  const uniform = seededUniform(seed);
  let q = new Float64Array(count * dim);
  for (let i = 0; i < q.length; i++) q[i] = uniform() - 0.5;
  orthonormalizeRows(q, count, dim);
  const next = new Float64Array(count * dim);
  for (let it = 0; it < iterations; it++) {
    multiplyRows(cov, q, next, count, dim);
    q = Float64Array.from(next);
    orthonormalizeRows(q, count, dim);
  }
  // Rayleigh quotients give the variances; sort strongest first (Gram-Schmidt keeps the order mostly, not always).
  const variances = new Float64Array(count);
  for (let c = 0; c < count; c++) {
    let sum = 0;
    for (let a = 0; a < dim; a++) {
      let row = 0;
      for (let b = 0; b < dim; b++) row += cov[a * dim + b]! * q[c * dim + b]!;
      sum += q[c * dim + a]! * row;
    }
    variances[c] = sum;
  }
  const order = Array.from({ length: count }, (_, i) => i).sort((x, y) => variances[y]! - variances[x]!);
  const basis = new Float32Array(count * dim);
  order.forEach((from, to) => basis.set(q.subarray(from * dim, (from + 1) * dim), to * dim));
  return { mean: Float32Array.from(mean), basis, variances: Float64Array.from(order, (i) => variances[i]!), count, dim };
}

/**
 * out[c] = C·q[c] for each of the k rows of q (C symmetric dim×dim). Four rows of q at a time, so that each row
 * of C is read once per four products instead of once per product (C is 2 MB at 512 dimensions: it does not stay
 * in cache); each sum still runs over b in order, so the result is the same, bit for bit, as one row at a time.
 */
function multiplyRows(cov: Float64Array, q: Float64Array, out: Float64Array, k: number, dim: number): void {
  let c = 0;
  for (; c + 4 <= k; c += 4) {
    const q0 = c * dim;
    const q1 = q0 + dim;
    const q2 = q1 + dim;
    const q3 = q2 + dim;
    for (let a = 0; a < dim; a++) {
      const offset = a * dim;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let b = 0; b < dim; b++) {
        const x = cov[offset + b]!;
        s0 += x * q[q0 + b]!;
        s1 += x * q[q1 + b]!;
        s2 += x * q[q2 + b]!;
        s3 += x * q[q3 + b]!;
      }
      out[q0 + a] = s0;
      out[q1 + a] = s1;
      out[q2 + a] = s2;
      out[q3 + a] = s3;
    }
  }
  for (; c < k; c++) {
    const qc = c * dim;
    for (let a = 0; a < dim; a++) {
      const offset = a * dim;
      let sum = 0;
      for (let b = 0; b < dim; b++) sum += cov[offset + b]! * q[qc + b]!;
      out[qc + a] = sum;
    }
  }
}

/** Modified Gram-Schmidt over the rows of a k×dim matrix, in place; a degenerate row becomes zero. */
function orthonormalizeRows(m: Float64Array, k: number, dim: number): void {
  for (let i = 0; i < k; i++) {
    const ri = i * dim;
    for (let j = 0; j < i; j++) {
      const rj = j * dim;
      let projection = 0;
      for (let t = 0; t < dim; t++) projection += m[ri + t]! * m[rj + t]!;
      for (let t = 0; t < dim; t++) m[ri + t]! -= projection * m[rj + t]!;
    }
    let norm = 0;
    for (let t = 0; t < dim; t++) norm += m[ri + t]! * m[ri + t]!;
    norm = Math.sqrt(norm);
    for (let t = 0; t < dim; t++) m[ri + t] = norm > 1e-12 ? m[ri + t]! / norm : 0;
  }
}
