/** Small dense-vector helpers over Float32Array; the hot loops of ranking live here. */

export function dot(a: Float32Array, b: Float32Array): number {
  const n = Math.min(a.length, b.length);
  // Four partial sums: independent chains, about twice as fast in V8 as one running sum (the profile
  // ranker calls this for every item of the catalog, 512 dimensions each, after every event).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
    s2 += a[i + 2]! * b[i + 2]!;
    s3 += a[i + 3]! * b[i + 3]!;
  }
  for (; i < n; i++) s0 += a[i]! * b[i]!;
  return s0 + s1 + (s2 + s3);
}

export function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

/** Returns a unit-length copy; the zero vector stays zero (it carries no direction). */
export function normalized(a: Float32Array): Float32Array {
  const n = norm(a);
  const out = new Float32Array(a.length);
  if (n === 0 || !Number.isFinite(n)) return out;
  for (let i = 0; i < a.length; i++) out[i] = a[i]! / n;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  const denominator = norm(a) * norm(b);
  return denominator === 0 ? 0 : dot(a, b) / denominator;
}

/** A (rows×D) times Bᵀ (B: k×D) → rows×k, row-major float32. */
export function multiplyTransposed(a: Float32Array, rows: number, D: number, b: Float32Array, k: number): Float32Array {
  const out = new Float32Array(rows * k);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < k; c++) {
      let sum = 0;
      for (let t = 0; t < D; t++) sum += a[r * D + t]! * b[c * D + t]!;
      out[r * k + c] = sum;
    }
  }
  return out;
}

/**
 * out[i] = offset[i] + rows_i · vector for every row of `rows` (count×dim, row-major): the feed's
 * hottest loop (100,000 items × d after every event). Four rows per pass, so each vector[t] is read
 * once for four products and the four sums are independent chains: about twice as fast in V8 as one
 * row at a time with four partial sums (Node, 100k × 32: 8.0 → 4.2 ms), with the same sum per row
 * (t in order).
 */
export function matVec(rows: Float32Array, dim: number, vector: Float32Array, out: Float32Array, offset?: Float32Array): Float32Array {
  const count = out.length;
  let i = 0;
  for (; i + 3 < count; i += 4) {
    const o0 = i * dim;
    const o1 = o0 + dim;
    const o2 = o1 + dim;
    const o3 = o2 + dim;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let t = 0; t < dim; t++) {
      const x = vector[t]!;
      s0 += x * rows[o0 + t]!;
      s1 += x * rows[o1 + t]!;
      s2 += x * rows[o2 + t]!;
      s3 += x * rows[o3 + t]!;
    }
    out[i] = (offset ? offset[i]! : 0) + s0;
    out[i + 1] = (offset ? offset[i + 1]! : 0) + s1;
    out[i + 2] = (offset ? offset[i + 2]! : 0) + s2;
    out[i + 3] = (offset ? offset[i + 3]! : 0) + s3;
  }
  for (; i < count; i++) {
    let sum = 0;
    for (let t = 0; t < dim; t++) sum += vector[t]! * rows[i * dim + t]!;
    out[i] = (offset ? offset[i]! : 0) + sum;
  }
  return out;
}

/** Rows (of width `width`) where `after` differs from `before`. */
export function changedRows(before: Float32Array, after: Float32Array, width: number): number[] {
  const rows: number[] = [];
  for (let row = 0; row * width < after.length; row++) {
    for (let i = row * width; i < (row + 1) * width; i++) {
      if (before[i] !== after[i]) {
        rows.push(row);
        break;
      }
    }
  }
  return rows;
}
