/**
 * Where an index reads the vectors it codes: one row at a time, into a caller's buffer. At catalog
 * scale the vectors are not one Float32Array (1,000,000 × 512 floats is 2 GB): they are int8 rows in
 * shards, in OPFS, or in memory for tests; each of those implements this.
 */
import { dequantizeRowInto } from '../quantize';

export interface RowSource {
  readonly count: number;
  readonly dim: number;
  /** Writes row `index` (dim values) into `out` from offset 0. */
  row(index: number, out: Float32Array): void;
}

/** Rows of a row-major float matrix (count × dim). */
export function floatRows(matrix: Float32Array, dim: number): RowSource {
  if (dim <= 0 || matrix.length % dim !== 0) throw new RangeError(`a ${matrix.length}-value matrix has no rows of ${dim}`);
  return {
    count: matrix.length / dim,
    dim,
    row(index, out) {
      out.set(matrix.subarray(index * dim, (index + 1) * dim));
    },
  };
}

/** Rows stored as int8 codes with one scale per row (core/quantize.ts, the cache's and the shards' form). */
export function int8Rows(codes: Int8Array, scales: Float32Array, dim: number): RowSource {
  if (codes.length !== scales.length * dim) throw new RangeError(`${codes.length} codes do not make ${scales.length} rows of ${dim}`);
  return {
    count: scales.length,
    dim,
    row(index, out) {
      dequantizeRowInto(codes, scales, index, dim, out, 0);
    },
  };
}

/** `count` distinct row indices drawn with `uniform` (all rows when count ≥ the source's), ascending. */
export function sampleRows(total: number, count: number, uniform: () => number): Int32Array {
  if (count >= total) return Int32Array.from({ length: total }, (_, i) => i);
  // Floyd's algorithm: count draws, no array of size `total`.
  const chosen = new Set<number>();
  for (let j = total - count; j < total; j++) {
    const t = Math.floor(uniform() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return Int32Array.from([...chosen].sort((a, b) => a - b));
}
