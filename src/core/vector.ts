/** Small dense-vector helpers over Float32Array; the hot loops of ranking live here. */

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += a[i]! * b[i]!;
  return sum;
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
