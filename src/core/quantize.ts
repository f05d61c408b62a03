/**
 * Symmetric int8 quantisation with one scale per row: x ≈ code · scale, |code| ≤ 127.
 * For unit-length embeddings the cosine between a vector and its decoded copy stays above 0.9999, at a
 * quarter of the bytes of float32. That is enough to swap two items whose scores nearly tie, so whoever
 * ranks with a fresh vector should rank with its decoded copy (Storage.asCached).
 */
export function quantizeRows(rows: readonly Float32Array[], dimension: number): { codes: Int8Array; scales: Float32Array } {
  const codes = new Int8Array(rows.length * dimension);
  const scales = new Float32Array(rows.length);
  rows.forEach((row, r) => {
    let maxAbs = 0;
    for (let j = 0; j < dimension; j++) maxAbs = Math.max(maxAbs, Math.abs(row[j]!));
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[r] = scale;
    for (let j = 0; j < dimension; j++) codes[r * dimension + j] = Math.round(row[j]! / scale);
  });
  return { codes, scales };
}

export function dequantizeRow(codes: Int8Array, scales: Float32Array, row: number, dimension: number): Float32Array {
  const out = new Float32Array(dimension);
  dequantizeRowInto(codes, scales, row, dimension, out, 0);
  return out;
}

/** Decodes row `row` into out[offset … offset + dimension). */
export function dequantizeRowInto(codes: Int8Array, scales: Float32Array, row: number, dimension: number, out: Float32Array, offset: number): void {
  const scale = scales[row]!;
  const from = row * dimension;
  for (let j = 0; j < dimension; j++) out[offset + j] = codes[from + j]! * scale;
}
