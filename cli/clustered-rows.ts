/**
 * Synthetic catalog vectors for the measuring scripts (cli/measure-*.ts): `n` unit rows of `dimension`, each the
 * centre of its group (row i in group i mod `groups`) plus `spread` times Gaussian noise, kept as int8 codes with one
 * scale per row (core/quantize.ts's rule). The centres are drawn first, then each row's noise, from `normal`.
 * Quantised row by row: no float copy of the n rows is held (100,000 × 512 floats would be 205 MB).
 */
export function clusteredInt8Rows(
  n: number,
  dimension: number,
  groups: number,
  spread: number,
  normal: () => number,
): { codes: Int8Array; scales: Float32Array } {
  const centres = Array.from({ length: groups }, () => Float32Array.from({ length: dimension }, () => normal()));
  const codes = new Int8Array(n * dimension);
  const scales = new Float32Array(n);
  const row = new Float32Array(dimension);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let t = 0; t < dimension; t++) norm += (row[t] = centres[i % groups]![t]! + spread * normal()) ** 2;
    let max = 0;
    for (let t = 0; t < dimension; t++) max = Math.max(max, Math.abs((row[t] = row[t]! / Math.sqrt(norm))));
    scales[i] = max / 127;
    for (let t = 0; t < dimension; t++) codes[i * dimension + t] = Math.round(row[t]! / scales[i]!);
  }
  return { codes, scales };
}
